import { expect } from 'chai';
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import { grpcJsEchoClient, unary } from './support/echo-client';
import { collect } from './support/waiting';

const root = join(__dirname, '..');
const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { license: string; dependencies: Record<string, string> };

function run(command: string, args: string[], cwd: string): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile(command, args, { cwd, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
      resolve({ code, output: `${stdout}${stderr}` });
    });
  });
}

/** The files `npm pack` puts in the tarball (scripts skipped: npm test has built dist/). */
async function packedFiles(): Promise<string[]> {
  const { code, output } = await run('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], root);
  expect(code, output).to.equal(0);
  const json = output.slice(output.indexOf('['));
  return (JSON.parse(json) as { files: { path: string }[] }[])[0].files.map((file) => file.path);
}

/** The README's TypeScript snippet for consumer projects: the first ```ts block of "Using it from another project". */
function readmeSnippet(): string {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Using it from another project'));
  const match = /```ts\n([\s\S]*?)```/.exec(section);
  if (match === null) throw new Error('README has no ```ts block under "## Using it from another project"');
  return match[1];
}

/** grpc-js's Metadata where ours is expected type-checks (our declared type has only public members). */
const METADATA_TYPES = `import * as grpc from '@grpc/grpc-js';
import { Metadata } from 'h2grpc';

export const fromGrpcJs: Metadata = new grpc.Metadata();
export function send(call: { sendMetadata(metadata: Metadata): void }): void {
  call.sendMetadata(new grpc.Metadata());
}
export const headers: { [key: string]: number | string | string[] | undefined } = new Metadata().toHttp2Headers();
export const back: Metadata = Metadata.fromHttp2Headers(new grpc.Metadata().toHttp2Headers() as { [key: string]: string | string[] | undefined });
`;

describe('the package as another project gets it (npm pack)', function () {
  this.timeout(120_000);
  let files: string[];

  before(async () => {
    files = await packedFiles();
  });

  it('ships the build, the sources its source maps name, the protos, README and LICENSE, and no specs', () => {
    for (const file of ['LICENSE', 'README.md', 'package.json', 'dist/index.js', 'dist/index.d.ts', 'lib/index.ts', 'protos/echo.proto'])
      expect(files).to.include(file);
    expect(files.filter((file) => file.startsWith('spec/') || file.startsWith('examples/') || file.startsWith('bench/'))).to.deep.equal([]);
  });

  it('LICENSE is the Apache License 2.0 text that package.json names', () => {
    expect(manifest.license).to.equal('Apache-2.0');
    const license = readFileSync(join(root, 'LICENSE'), 'utf8');
    expect(license).to.match(/^\s+Apache License\n\s+Version 2\.0, January 2004\n/);
    expect(license).to.include('TERMS AND CONDITIONS FOR USE, REPRODUCTION, AND DISTRIBUTION');
    expect(license).to.include('END OF TERMS AND CONDITIONS');
  });

  it('every source a shipped source map names is in the package', () => {
    const maps = files.filter((file) => file.endsWith('.js.map'));
    expect(maps.length).to.be.greaterThan(10);
    const missing: string[] = [];
    for (const map of maps) {
      const { sources } = JSON.parse(readFileSync(join(root, map), 'utf8')) as { sources: string[] };
      for (const source of sources) {
        const resolved = posix.normalize(posix.join(posix.dirname(map), source));
        if (!files.includes(resolved)) missing.push(`${map} → ${resolved}`);
      }
    }
    expect(missing).to.deep.equal([]);
  });

  describe('the README snippet in a strict TypeScript project with the packed package installed', () => {
    let project: string;
    let server: ChildProcess | null = null;
    let compiled: { code: number; output: string };

    before(async () => {
      project = mkdtempSync(join(tmpdir(), 'h2grpc-consumer-'));
      const packed = await run('npm', ['pack', '--ignore-scripts', '--pack-destination', project], root);
      expect(packed.code, packed.output).to.equal(0);
      const tarball = readdirSync(project).find((file) => file.endsWith('.tgz'))!;
      const installed = join(project, 'node_modules', 'h2grpc');
      mkdirSync(installed, { recursive: true });
      const untar = await run('tar', ['-xzf', join(project, tarball), '-C', installed, '--strip-components=1'], project);
      expect(untar.code, untar.output).to.equal(0);
      // What `npm install <tarball> @grpc/proto-loader` would add: the package's dependencies (and
      // @grpc/proto-loader, which the snippet imports itself) and @types/node, from this checkout.
      mkdirSync(join(project, 'node_modules', '@grpc'), { recursive: true });
      mkdirSync(join(project, 'node_modules', '@types'), { recursive: true });
      for (const name of [...Object.keys(manifest.dependencies), '@grpc/grpc-js', '@types/node']) {
        symlinkSync(join(root, 'node_modules', name), join(project, 'node_modules', name), 'dir');
      }
      writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'consumer', private: true }));
      const compilerOptions = { target: 'ES2022', lib: ['ES2022'], module: 'commonjs', moduleResolution: 'node', strict: true, types: ['node'], outDir: 'out' };
      writeFileSync(join(project, 'tsconfig.json'), JSON.stringify({ compilerOptions, include: ['src'] }));
      mkdirSync(join(project, 'src'));
      writeFileSync(join(project, 'src', 'server.ts'), readmeSnippet());
      writeFileSync(join(project, 'src', 'metadata.ts'), METADATA_TYPES);
      compiled = await run(join(root, 'node_modules', '.bin', 'tsc'), ['-p', project], project);
    });

    after(() => {
      server?.kill('SIGKILL');
      rmSync(project, { recursive: true, force: true });
    });

    it('type-checks under strict (no skipLibCheck) against the packed dist/, grpc-js Metadata accepted as ours', () => {
      expect(compiled.output).to.equal('');
      expect(compiled.code).to.equal(0);
    });

    it('runs: a grpc-js client gets answers from it, on the proto shipped in the package', async () => {
      expect(compiled.code).to.equal(0);
      const child = spawn(process.execPath, [join(project, 'out', 'server.js')], {
        cwd: project,
        env: { ...process.env, PORT: '0' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      server = child;
      let output = '';
      const port = await new Promise<number>((resolve, reject) => {
        const onData = (chunk: Buffer) => {
          output += chunk.toString();
          const match = /listening on (\d+)/.exec(output);
          if (match) resolve(Number(match[1]));
        };
        child.stdout!.on('data', onData);
        child.stderr!.on('data', onData);
        child.once('exit', (code) => reject(new Error(`the snippet exited (${code}): ${output}`)));
      });
      const client = grpcJsEchoClient(port);
      try {
        expect(await unary(client, 'from a consumer')).to.deep.equal({ message: 'from a consumer' });
        const error = await unary(client, '').catch((failure: { code: number }) => failure);
        expect((error as { code: number }).code).to.equal(3); // INVALID_ARGUMENT
        const streamed = await collect<{ message: string }>(client.ServerStreamingEcho({ message: 'once' }));
        expect(streamed).to.deep.equal([{ message: 'once' }]);
      } finally {
        client.close();
        child.kill('SIGTERM');
      }
    });
  });
});
