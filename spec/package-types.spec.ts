import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = join(__dirname, '..');
const tsc = join(root, 'node_modules', '.bin', 'tsc');

/** What a user of the package writes: both entry points, with types that must be real (not any). */
const USE = `import { Http2Connection, ErrorCode } from 'h2grpc/transport';
import type { Http2Stream } from 'h2grpc/transport';
import { Server, ServerCredentials } from 'h2grpc';

export function open(socket: ConstructorParameters<typeof Http2Connection>[0]): Http2Stream {
  const connection = new Http2Connection(socket, 'client', { writeQuota: 64 * 1024 });
  const stream: Http2Stream = connection.request([':method', 'GET', ':scheme', 'http', ':path', '/', ':authority', 'x'], true);
  const code: number = ErrorCode.CANCEL;
  stream.reset(code);
  const queued: number = connection.stats.queuedBytes;
  return queued >= 0 ? stream : stream;
}

export const server: Server = new Server();
server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (error: Error | null, port: number) => port);
`;

/** Wrong types on purpose: tsc reports them only if the imports resolved to their real types (not any). */
const WRONG = `import { ErrorCode } from 'h2grpc/transport';
import { Server } from 'h2grpc';
export const wrongCode: string = ErrorCode.CANCEL;
export const wrongServer: number = new Server();
`;

interface Outcome {
  code: number;
  output: string;
}

function typecheck(project: string): Promise<Outcome> {
  return new Promise((resolve) => {
    execFile(tsc, ['--noEmit', '-p', project], { cwd: root }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
      resolve({ code, output: `${stdout}${stderr}` });
    });
  });
}

/**
 * A consumer project in `directory`: tsconfig with the given module settings, src/use.ts, a second
 * tsconfig.wrong.json that adds a file with deliberate type errors, and node_modules holding the
 * package (`linkPackage(dir)` puts it there) and @types/node (the declarations refer to node:stream).
 */
function fixture(directory: string, compilerOptions: Record<string, string>, linkPackage: (packageDirectory: string) => void): void {
  mkdirSync(join(directory, 'src'), { recursive: true });
  mkdirSync(join(directory, 'wrong'));
  mkdirSync(join(directory, 'node_modules', '@types'), { recursive: true });
  linkPackage(join(directory, 'node_modules', 'h2grpc'));
  symlinkSync(join(root, 'node_modules', '@types', 'node'), join(directory, 'node_modules', '@types', 'node'), 'dir');
  writeFileSync(join(directory, 'package.json'), JSON.stringify({ name: 'consumer', private: true }));
  const options = { ...compilerOptions, target: 'ES2022', lib: ['ES2022'], strict: true, skipLibCheck: true, types: ['node'], noEmit: true };
  writeFileSync(join(directory, 'tsconfig.json'), JSON.stringify({ compilerOptions: options, include: ['src'] }));
  writeFileSync(join(directory, 'tsconfig.wrong.json'), JSON.stringify({ extends: './tsconfig.json', include: ['src', 'wrong'] }));
  writeFileSync(join(directory, 'src', 'use.ts'), USE);
  writeFileSync(join(directory, 'wrong', 'wrong.ts'), WRONG);
}

/** The package's typings as TypeScript projects resolve them (npm test builds dist/ first). */
describe('package typings in consumer projects (tsc over dist/)', function () {
  this.timeout(60_000);
  let temp: string;
  const outcomes = new Map<string, Outcome>();

  before(async () => {
    temp = mkdtempSync(join(tmpdir(), 'h2grpc-types-'));
    const linkRoot = (packageDirectory: string) => symlinkSync(root, packageDirectory, 'dir');
    fixture(join(temp, 'commonjs-node'), { module: 'commonjs', moduleResolution: 'node' }, linkRoot);
    fixture(join(temp, 'node16'), { module: 'node16', moduleResolution: 'node16' }, linkRoot);
    // The same package without typesVersions: what CommonJS projects got before it was added.
    fixture(join(temp, 'commonjs-node-without-typesVersions'), { module: 'commonjs', moduleResolution: 'node' }, (packageDirectory) => {
      mkdirSync(packageDirectory);
      const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
      delete manifest.typesVersions;
      writeFileSync(join(packageDirectory, 'package.json'), JSON.stringify(manifest));
      symlinkSync(join(root, 'dist'), join(packageDirectory, 'dist'), 'dir');
    });
    const runs = {
      'commonjs-node': join(temp, 'commonjs-node'),
      node16: join(temp, 'node16'),
      'commonjs-node wrong': join(temp, 'commonjs-node', 'tsconfig.wrong.json'),
      'commonjs-node without typesVersions': join(temp, 'commonjs-node-without-typesVersions'),
    };
    const results = await Promise.all(Object.values(runs).map(typecheck));
    Object.keys(runs).forEach((name, index) => outcomes.set(name, results[index]));
  });
  after(() => rmSync(temp, { recursive: true, force: true }));

  it('package.json maps h2grpc/transport in typesVersions to the same declarations as exports', () => {
    const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
    expect(manifest.typesVersions['*'].transport).to.deep.equal([manifest.exports['./transport'].types]);
  });

  for (const name of ['commonjs-node', 'node16']) {
    it(`a ${name} project type-checks imports of h2grpc and h2grpc/transport`, () => {
      const outcome = outcomes.get(name)!;
      expect(outcome.output).to.equal('');
      expect(outcome.code).to.equal(0);
    });
  }

  it('the check can fail: a commonjs-node project with deliberate type errors fails on them, not on resolution', () => {
    const outcome = outcomes.get('commonjs-node wrong')!;
    expect(outcome.code).to.equal(2);
    expect(outcome.output).to.match(/wrong\.ts\(3,14\): error TS2322: Type '[^']+' is not assignable to type 'string'/);
    expect(outcome.output).to.match(/wrong\.ts\(4,14\): error TS2322: Type 'Server' is not assignable to type 'number'/);
    expect(outcome.output).not.to.contain('TS2307');
  });

  it('without typesVersions, a commonjs-node project cannot find h2grpc/transport (what typesVersions fixes)', () => {
    const outcome = outcomes.get('commonjs-node without typesVersions')!;
    expect(outcome.code).to.equal(2);
    expect(outcome.output).to.match(/error TS2307: Cannot find module 'h2grpc\/transport'/);
    expect(outcome.output).not.to.contain("Cannot find module 'h2grpc'");
  });
});
