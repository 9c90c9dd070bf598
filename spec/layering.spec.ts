import { expect } from 'chai';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const lib = join(__dirname, '..', 'lib');

function sources(directory: string): string[] {
  return readdirSync(directory).flatMap((name) => {
    const path = join(directory, name);
    return statSync(path).isDirectory() ? sources(path) : path.endsWith('.ts') ? [path] : [];
  });
}

/** Import specifiers of a file, with whether each is type-only. */
function imports(file: string): { from: string; typeOnly: boolean }[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/^import (type )?[^;]*? from '([^']+)';/gms)].map((match) => ({ from: match[2], typeOnly: match[1] !== undefined }));
}

/** The dependency rules of shared/design/transport.md, checked on the source. */
describe('layering (shared/design/transport.md)', () => {
  it('lib/grpc reaches the transport only through lib/transport/index.ts', () => {
    const offenders = sources(join(lib, 'grpc')).flatMap((file) =>
      imports(file)
        .filter(({ from }) => /\/transport\//.test(from))
        .map(({ from }) => `${relative(lib, file)} imports ${from}`),
    );
    expect(offenders).to.deep.equal([]);
  });

  it('lib/transport never imports lib/grpc', () => {
    const offenders = sources(join(lib, 'transport')).flatMap((file) =>
      imports(file)
        .filter(({ from }) => /(^|\/)grpc(\/|$)/.test(from))
        .map(({ from }) => `${relative(lib, file)} imports ${from}`),
    );
    expect(offenders).to.deep.equal([]);
  });

  it('the read path and the write path do not import each other at run time (types only, to meet in connection/)', () => {
    const offenders = [
      ...sources(join(lib, 'transport', 'inbound')).flatMap((file) => imports(file).filter((entry) => entry.from.includes('/outbound/') && !entry.typeOnly).map(({ from }) => `${relative(lib, file)} imports ${from}`)),
      ...sources(join(lib, 'transport', 'outbound')).flatMap((file) => imports(file).filter((entry) => entry.from.includes('/inbound/') && !entry.typeOnly).map(({ from }) => `${relative(lib, file)} imports ${from}`)),
    ];
    expect(offenders).to.deep.equal([]);
  });
});
