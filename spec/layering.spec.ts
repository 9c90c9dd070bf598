import { expect } from 'chai';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, posix, relative, sep } from 'node:path';

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
      ...sources(join(lib, 'transport', 'inbound')).flatMap((file) =>
        imports(file)
          .filter((entry) => entry.from.includes('/outbound/') && !entry.typeOnly)
          .map(({ from }) => `${relative(lib, file)} imports ${from}`),
      ),
      ...sources(join(lib, 'transport', 'outbound')).flatMap((file) =>
        imports(file)
          .filter((entry) => entry.from.includes('/inbound/') && !entry.typeOnly)
          .map(({ from }) => `${relative(lib, file)} imports ${from}`),
      ),
    ];
    expect(offenders).to.deep.equal([]);
  });
});

// ---- import cycles ----

/**
 * Import cycles lib/ still has, each a strongly connected component as `importCycles()` prints it.
 * This list must stay empty (the last entry, control-item <-> outbound-stream <-> http2-stream, went
 * when control items started carrying stream ids). A new cycle fails the spec, and so does an entry
 * here that no longer exists, so the list cannot go stale. Break a cycle rather than listing it.
 */
const KNOWN_CYCLES: readonly string[] = [];

/**
 * Relative specifiers a TypeScript file imports or re-exports, type-only imports included:
 * `import … from`, `import type … from`, `export … from`, bare `import './x'`, `import('./x')`,
 * `require('./x')` (as shared/tools/import-cycles.py, plus bare side-effect imports).
 */
function relativeSpecifiers(text: string): string[] {
  const pattern =
    /(?:import|export)\s[^'";]*?from\s+['"](\.[^'"]+)['"]|import\s+['"](\.[^'"]+)['"]|import\(\s*['"](\.[^'"]+)['"]\s*\)|require\(\s*['"](\.[^'"]+)['"]\s*\)/g;
  return [...text.matchAll(pattern)].map((match) => match.slice(1).find((group) => group !== undefined) as string);
}

/**
 * Import cycles among a set of files (path relative to a root → source text): Tarjan's strongly
 * connected components over the relative import graph; a component of two or more files, or a file
 * importing itself, is a cycle. Each is its sorted paths joined by ' <-> ', the list sorted.
 */
function importCycles(files: ReadonlyMap<string, string>): string[] {
  const resolve = (from: string, specifier: string): string | undefined => {
    const base = posix.normalize(posix.join(posix.dirname(from), specifier));
    return [`${base}.ts`, posix.join(base, 'index.ts'), base].find((candidate) => files.has(candidate));
  };
  const graph = new Map<string, string[]>();
  for (const [path, text] of files) {
    const targets = new Set<string>();
    for (const specifier of relativeSpecifiers(text)) {
      const target = resolve(path, specifier);
      if (target !== undefined) targets.add(target);
    }
    graph.set(path, [...targets].sort());
  }

  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[] = [];
  let counter = 0;
  const strongConnect = (vertex: string): void => {
    index.set(vertex, counter);
    low.set(vertex, counter);
    counter++;
    stack.push(vertex);
    onStack.add(vertex);
    for (const next of graph.get(vertex) ?? []) {
      if (!index.has(next)) {
        strongConnect(next);
        low.set(vertex, Math.min(low.get(vertex)!, low.get(next)!));
      } else if (onStack.has(next)) {
        low.set(vertex, Math.min(low.get(vertex)!, index.get(next)!));
      }
    }
    if (low.get(vertex) !== index.get(vertex)) return;
    const component: string[] = [];
    for (;;) {
      const member = stack.pop()!;
      onStack.delete(member);
      component.push(member);
      if (member === vertex) break;
    }
    if (component.length > 1 || graph.get(vertex)!.includes(vertex)) cycles.push(component.sort().join(' <-> '));
  };
  for (const vertex of [...graph.keys()].sort()) if (!index.has(vertex)) strongConnect(vertex);
  return cycles.sort();
}

/** lib/**\/*.ts (no .d.ts), keyed by POSIX path relative to lib/. */
function libSources(): Map<string, string> {
  const files = new Map<string, string>();
  for (const file of sources(lib)) {
    if (file.endsWith('.d.ts')) continue;
    files.set(relative(lib, file).split(sep).join('/'), readFileSync(file, 'utf8'));
  }
  return files;
}

describe('import cycles in lib/ (type-only imports included)', () => {
  it('finds cycles through type imports, re-exports and index files, and nothing in an acyclic graph', () => {
    const files = new Map([
      ['a.ts', "import type { B } from './b';\nexport const a = 1;"],
      ['b.ts', "export { c } from './c/index';\nexport type B = number;"],
      ['c/index.ts', "import {\n  a,\n} from '../a';\nexport const c = a;"],
      ['d.ts', "import { a } from './a';\nimport './e';"],
      ['e.ts', "import type { D } from './e';\nexport type D = 1;"],
      ['f.ts', "import { x } from 'node:fs';\nconst g = require('./g');"],
      ['g.ts', "export const y = import('./f');"],
    ]);
    expect(importCycles(files)).to.deep.equal(['a.ts <-> b.ts <-> c/index.ts', 'e.ts', 'f.ts <-> g.ts']);
    files.set('b.ts', 'export type B = number;');
    files.set('e.ts', 'export type D = 1;');
    files.set('g.ts', 'export const y = 1;');
    expect(importCycles(files)).to.deep.equal([]);
  });

  it('lib/ has no import cycles beyond KNOWN_CYCLES, and every known cycle still exists', () => {
    const files = libSources();
    expect(files.size).to.be.greaterThan(30);
    const cycles = importCycles(files);
    const unexpected = cycles.filter((cycle) => !KNOWN_CYCLES.includes(cycle));
    const gone = KNOWN_CYCLES.filter((cycle) => !cycles.includes(cycle));
    expect(unexpected, 'new import cycles (break them; do not add them to KNOWN_CYCLES)').to.deep.equal([]);
    expect(gone, 'cycles in KNOWN_CYCLES that no longer exist: remove them from the list').to.deep.equal([]);
  });
});
