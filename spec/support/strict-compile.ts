import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = join(__dirname, '..', '..');

/**
 * A scratch CommonJS project compiled with strict on and library checks on (skipLibCheck would
 * hide declarations that refer to stripped internals): `compile(source)` type-checks one file and
 * resolves with tsc's output ('' when it is clean). `dispose()` removes it.
 */
export class StrictProject {
  private readonly dir = mkdtempSync(join(tmpdir(), 'h2grpc-types-'));

  constructor() {
    const compilerOptions = {
      strict: true,
      skipLibCheck: false,
      noEmit: true,
      target: 'ES2022',
      lib: ['ES2022'],
      module: 'commonjs',
      moduleResolution: 'node',
      types: ['node'],
      typeRoots: [join(root, 'node_modules', '@types')],
    };
    writeFileSync(join(this.dir, 'tsconfig.json'), JSON.stringify({ compilerOptions, files: ['use.ts'] }));
  }

  compile(source: string): Promise<string> {
    writeFileSync(join(this.dir, 'use.ts'), source);
    return new Promise((resolve) =>
      execFile(join(root, 'node_modules', '.bin', 'tsc'), ['-p', this.dir], { cwd: root }, (_error, stdout, stderr) => resolve(`${stdout}${stderr}`)),
    );
  }

  dispose(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}
