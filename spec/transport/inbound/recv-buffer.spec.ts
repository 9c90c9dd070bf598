import { expect } from 'chai';
import { RecvBuffer } from '../../../lib/transport/inbound/recv-buffer';

const chunk = (text: string): Buffer => Buffer.from(text, 'latin1');

describe('RecvBuffer', () => {
  it('starts empty', () => {
    const buffer = new RecvBuffer();
    expect(buffer.isEmpty).to.equal(true);
    expect(buffer.bytes).to.equal(0);
    expect(buffer.shift()).to.equal(undefined);
  });

  it('returns chunks in FIFO order, the same Buffer objects', () => {
    const buffer = new RecvBuffer();
    const chunks = ['a', 'bb', 'ccc', 'dddd'].map(chunk);
    for (const item of chunks) buffer.push(item);
    for (const item of chunks) expect(buffer.shift()).to.equal(item);
    expect(buffer.shift()).to.equal(undefined);
  });

  it('counts bytes as chunks come and go', () => {
    const buffer = new RecvBuffer();
    buffer.push(chunk('hello'));
    expect(buffer.bytes).to.equal(5);
    buffer.push(Buffer.alloc(1000));
    expect(buffer.bytes).to.equal(1005);
    buffer.push(Buffer.alloc(0));
    expect(buffer.bytes).to.equal(1005);
    buffer.shift();
    expect(buffer.bytes).to.equal(1000);
    buffer.shift();
    expect(buffer.bytes).to.equal(0);
    // The empty chunk is still a chunk.
    expect(buffer.isEmpty).to.equal(false);
    expect(buffer.shift()!.length).to.equal(0);
    expect(buffer.isEmpty).to.equal(true);
  });

  it('isEmpty follows pushes and shifts', () => {
    const buffer = new RecvBuffer();
    buffer.push(chunk('x'));
    expect(buffer.isEmpty).to.equal(false);
    buffer.push(chunk('y'));
    buffer.shift();
    expect(buffer.isEmpty).to.equal(false);
    buffer.shift();
    expect(buffer.isEmpty).to.equal(true);
  });

  it('clear() drops everything and returns the dropped bytes', () => {
    const buffer = new RecvBuffer();
    buffer.push(chunk('abc'));
    buffer.push(chunk('defgh'));
    buffer.push(chunk('ij'));
    buffer.shift();
    expect(buffer.clear()).to.equal(7);
    expect(buffer.bytes).to.equal(0);
    expect(buffer.isEmpty).to.equal(true);
    expect(buffer.shift()).to.equal(undefined);
    expect(buffer.clear()).to.equal(0);
    // Usable afterwards.
    const again = chunk('again');
    buffer.push(again);
    expect(buffer.bytes).to.equal(5);
    expect(buffer.shift()).to.equal(again);
  });

  it('keeps order and counts right through interleaved pushes and shifts (index reuse)', () => {
    const buffer = new RecvBuffer();
    const expected: Buffer[] = [];
    const got: Buffer[] = [];
    let next = 0;
    let bytes = 0;
    for (let round = 0; round < 50; round++) {
      // Grow by (round % 4) + 1, shrink by (round % 3) + 1: the queue empties now and then, so the
      // internal array is both reset and reused with a read index in the middle.
      for (let index = 0; index < (round % 4) + 1; index++) {
        const item = Buffer.alloc(1 + (next % 7), next & 0xff);
        next++;
        expected.push(item);
        bytes += item.length;
        buffer.push(item);
      }
      for (let index = 0; index < (round % 3) + 1; index++) {
        const item = buffer.shift();
        if (item === undefined) {
          expect(buffer.isEmpty).to.equal(true);
          break;
        }
        bytes -= item.length;
        got.push(item);
      }
      expect(buffer.bytes).to.equal(bytes);
      expect(buffer.isEmpty).to.equal(got.length === expected.length);
    }
    for (let item = buffer.shift(); item !== undefined; item = buffer.shift()) got.push(item);
    expect(got).to.have.length(expected.length);
    got.forEach((item, index) => expect(item).to.equal(expected[index]));
    expect(buffer.bytes).to.equal(0);
  });

  it('pushing after draining to empty starts over cleanly', () => {
    const buffer = new RecvBuffer();
    buffer.push(chunk('1'));
    buffer.push(chunk('2'));
    expect(buffer.shift()!.toString()).to.equal('1');
    expect(buffer.shift()!.toString()).to.equal('2');
    buffer.push(chunk('3'));
    expect(buffer.isEmpty).to.equal(false);
    expect(buffer.bytes).to.equal(1);
    expect(buffer.shift()!.toString()).to.equal('3');
    expect(buffer.shift()).to.equal(undefined);
  });
});
