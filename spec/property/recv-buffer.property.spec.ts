import { expect } from 'chai';
import fc from 'fast-check';
import { RecvBuffer } from '../../lib/transport/inbound/recv-buffer';

type Op = { op: 'push'; chunk: Buffer } | { op: 'shift' } | { op: 'clear' };

const opArbitrary: fc.Arbitrary<Op> = fc.oneof(
  { weight: 5, arbitrary: fc.uint8Array({ maxLength: 64 }).map((bytes): Op => ({ op: 'push', chunk: Buffer.from(bytes) })) },
  { weight: 4, arbitrary: fc.constant<Op>({ op: 'shift' }) },
  { weight: 1, arbitrary: fc.constant<Op>({ op: 'clear' }) },
);

describe('RecvBuffer (property)', () => {
  it('behaves like a reference array queue under any interleaving of push/shift/clear', () => {
    fc.assert(
      fc.property(fc.array(opArbitrary, { maxLength: 300 }), (ops) => {
        const buffer = new RecvBuffer();
        const model: Buffer[] = [];
        const modelBytes = (): number => model.reduce((total, item) => total + item.length, 0);
        for (const op of ops) {
          if (op.op === 'push') {
            buffer.push(op.chunk);
            model.push(op.chunk);
          } else if (op.op === 'shift') {
            // Same chunk object (not a copy), in the same order.
            expect(buffer.shift()).to.equal(model.shift());
          } else {
            expect(buffer.clear()).to.equal(modelBytes());
            model.length = 0;
          }
          expect(buffer.bytes).to.equal(modelBytes());
          expect(buffer.isEmpty).to.equal(model.length === 0);
        }
        // Draining yields exactly what the model still holds.
        const rest: Buffer[] = [];
        for (let item = buffer.shift(); item !== undefined; item = buffer.shift()) rest.push(item);
        expect(rest).to.have.length(model.length);
        rest.forEach((item, index) => expect(item).to.equal(model[index]));
        expect(buffer.bytes).to.equal(0);
      }),
      { numRuns: 300 },
    );
  });

  it('only push/shift: the concatenated bytes out equal the concatenated bytes in', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            fc.uint8Array({ maxLength: 16 }).map((bytes) => Buffer.from(bytes)),
            fc.constant(null),
          ),
          { maxLength: 200 },
        ),
        (ops) => {
          const buffer = new RecvBuffer();
          const pushed: Buffer[] = [];
          const shifted: Buffer[] = [];
          for (const op of ops) {
            if (op === null) {
              const item = buffer.shift();
              if (item !== undefined) shifted.push(item);
            } else {
              buffer.push(op);
              pushed.push(op);
            }
          }
          for (let item = buffer.shift(); item !== undefined; item = buffer.shift()) shifted.push(item);
          expect(Buffer.concat(shifted).equals(Buffer.concat(pushed))).to.equal(true);
          expect(shifted.length).to.equal(pushed.length);
        },
      ),
    );
  });
});
