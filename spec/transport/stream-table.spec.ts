import { expect } from 'chai';
import fc from 'fast-check';
import { StreamTable } from '../../lib/transport/stream-table';

type Op = { op: 'set'; id: number; value: number } | { op: 'delete'; id: number };

/** Stream ids as connections use them: mostly increasing odd ids, some reused, some far apart. */
const idArbitrary = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: 0, max: 200 }).map((n) => 2 * n + 1) },
  { weight: 2, arbitrary: fc.integer({ min: 1, max: 400 }) },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 2 ** 31 - 1 }) },
);
const opArbitrary: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ op: fc.constant('set' as const), id: idArbitrary, value: fc.integer() }),
  fc.record({ op: fc.constant('delete' as const), id: idArbitrary }),
);

describe('StreamTable', () => {
  it('behaves as a Map from id to value after any sequence of sets and deletes (property)', () => {
    fc.assert(
      fc.property(fc.array(opArbitrary, { maxLength: 300 }), (ops) => {
        const table = new StreamTable<number>();
        const model = new Map<number, number>();
        for (const operation of ops) {
          if (operation.op === 'set') {
            table.set(operation.id, operation.value);
            model.set(operation.id, operation.value);
          } else {
            expect(table.delete(operation.id), `delete ${operation.id}`).to.equal(model.delete(operation.id));
          }
          expect(table.size).to.equal(model.size);
        }
        for (const [id, value] of model) expect(table.get(id), `get ${id}`).to.equal(value);
        for (const operation of ops) if (!model.has(operation.id)) expect(table.get(operation.id)).to.equal(undefined);
        expect(table.toArray().sort((a, b) => a - b)).to.deep.equal([...model.values()].sort((a, b) => a - b));
      }),
      { numRuns: 500 },
    );
  });

  it('walks consecutive stream ids in id order (slot order) until they wrap around the table', () => {
    const table = new StreamTable<number>();
    for (let id = 1; id <= 15; id += 2) table.set(id, id);
    expect(table.toArray()).to.deep.equal([1, 3, 5, 7, 9, 11, 13, 15]);
  });

  it('grows past its initial capacity and keeps every entry', () => {
    const table = new StreamTable<string>();
    for (let id = 1; id < 2000; id += 2) table.set(id, `s${id}`);
    expect(table.size).to.equal(1000);
    for (let id = 1; id < 2000; id += 2) expect(table.get(id)).to.equal(`s${id}`);
    for (let id = 1; id < 2000; id += 4) expect(table.delete(id)).to.equal(true);
    expect(table.size).to.equal(500);
    for (let id = 3; id < 2000; id += 4) expect(table.get(id)).to.equal(`s${id}`);
  });

  it('a walk may remove the entries it visits when it walks a copy (toArray)', () => {
    const table = new StreamTable<number>();
    for (let id = 1; id <= 41; id += 2) table.set(id, id);
    for (const id of table.toArray()) table.delete(id);
    expect(table.size).to.equal(0);
    expect(table.get(1)).to.equal(undefined);
  });
});
