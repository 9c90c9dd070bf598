import { expect } from 'chai';
import fc from 'fast-check';
import {
  type ClientHelloVerdict,
  clientHelloBytesWanted,
  inspectClientHello,
  MAX_CLIENT_HELLO_BYTES,
  MAX_CLIENT_HELLO_RECORDS,
} from '../../lib/grpc/server/client-hello';

const VERDICTS: ClientHelloVerdict[] = ['h2', 'noH2', 'notTls', 'incomplete'];

const bytes = (maxLength: number, minLength = 0) => fc.uint8Array({ minLength, maxLength }).map((array) => Buffer.from(array));

/** A TLS record header with a payload; the declared length may lie (zero, short, past the end, huge). */
const record = fc
  .record({
    type: fc.oneof(fc.constant(22), fc.constant(22), fc.constant(21), fc.constant(23), fc.integer({ min: 0, max: 255 })),
    major: fc.oneof(fc.constant(3), fc.constant(3), fc.integer({ min: 0, max: 255 })),
    minor: fc.integer({ min: 0, max: 255 }),
    payload: bytes(60),
    length: fc.oneof(
      fc.constant<'actual'>('actual'),
      fc.constant<'actual'>('actual'),
      fc.constant(0),
      fc.integer({ min: 0, max: 80 }),
      fc.constant(0xffff),
      fc.integer({ min: 0, max: 0xffff }),
    ),
  })
  .map(({ type, major, minor, payload, length }) => {
    const declared = length === 'actual' ? payload.length : length;
    return Buffer.concat([Buffer.from([type, major, minor, declared >> 8, declared & 0xff]), payload]);
  });

/** A handshake message header (type, 24-bit length) that may claim anything, then some body. */
const handshakeStart = fc
  .record({
    type: fc.oneof(fc.constant(1), fc.integer({ min: 0, max: 255 })),
    length: fc.oneof(fc.integer({ min: 0, max: 200 }), fc.constant(MAX_CLIENT_HELLO_BYTES), fc.constant(0xffffff), fc.integer({ min: 0, max: 0xffffff })),
    body: bytes(200),
  })
  .map(({ type, length, body }) => Buffer.concat([Buffer.from([type, length >> 16, (length >> 8) & 0xff, length & 0xff]), body]));

/** A handshake message cut into records of the given sizes (zero sizes included), then truncated anywhere. */
const fragmentedHello = fc
  .tuple(handshakeStart, fc.array(fc.integer({ min: 0, max: 40 }), { minLength: 1, maxLength: 50 }), fc.nat())
  .map(([message, sizes, cut]) => {
    const parts: Buffer[] = [];
    let offset = 0;
    for (const size of sizes) {
      const part = message.subarray(offset, offset + size);
      offset += part.length;
      parts.push(Buffer.from([22, 3, 1, part.length >> 8, part.length & 0xff]), part);
    }
    const whole = Buffer.concat(parts);
    return whole.subarray(0, cut % (whole.length + 1));
  });

const anyInput = fc.oneof(
  bytes(300),
  fc.array(record, { maxLength: 12 }).map((records) => Buffer.concat(records)),
  fc.tuple(fc.array(record, { maxLength: 6 }), fc.nat()).map(([records, cut]) => {
    const whole = Buffer.concat(records);
    return whole.subarray(0, cut % (whole.length + 1));
  }),
  fragmentedHello,
);

/** How many TLS record headers (complete or not) `data` starts with. */
function recordCount(data: Buffer): number {
  let count = 0;
  let offset = 0;
  while (offset + 5 <= data.length) {
    count++;
    offset += 5 + data.readUInt16BE(offset + 3);
  }
  return count;
}

describe('ClientHello inspection (property)', () => {
  it('never throws, and always answers one of its verdicts', () => {
    fc.assert(
      fc.property(anyInput, (data) => {
        expect(VERDICTS).to.include(inspectClientHello(data));
      }),
      { numRuns: 3000 },
    );
  });

  it('waits for more bytes only while they can still change the verdict, within the record and size bounds', () => {
    fc.assert(
      fc.property(anyInput, (data) => {
        if (inspectClientHello(data) !== 'incomplete') return;
        expect(clientHelloBytesWanted(data)).to.be.greaterThan(data.length);
        expect(data.length).to.be.at.most(MAX_CLIENT_HELLO_BYTES);
        expect(recordCount(data)).to.be.at.most(MAX_CLIENT_HELLO_RECORDS);
      }),
      { numRuns: 3000 },
    );
  });

  it('judges no prefix differently before the byte count it asked for (looking only then loses nothing)', () => {
    fc.assert(
      fc.property(anyInput, (data) => {
        let wanted = 1;
        for (let length = 1; length <= data.length; length++) {
          const verdict = inspectClientHello(data.subarray(0, length));
          if (length < wanted) {
            expect(verdict, `${length} bytes, ${wanted} wanted`).to.equal('incomplete');
            continue;
          }
          if (verdict !== 'incomplete') return;
          wanted = clientHelloBytesWanted(data.subarray(0, length));
        }
      }),
      { numRuns: 500 },
    );
  });

  it('rejects zero-length handshake records, records longer than 2^14, and a ClientHello spread over too many records', () => {
    const start = Buffer.from([22, 3, 1, 0, 4, 1, 0, 0x10, 0]); // a 4 KiB ClientHello announced
    expect(inspectClientHello(start)).to.equal('incomplete');
    expect(inspectClientHello(Buffer.concat([start, Buffer.from([22, 3, 1, 0, 0])]))).to.equal('notTls');
    expect(inspectClientHello(Buffer.from([22, 3, 1, 0x40, 0x01]))).to.equal('notTls');
    const tiny = Buffer.from([22, 3, 1, 0, 1, 0]);
    const within = Buffer.concat([start, ...Array<Buffer>(MAX_CLIENT_HELLO_RECORDS - 1).fill(tiny)]);
    expect(inspectClientHello(within)).to.equal('incomplete');
    expect(inspectClientHello(Buffer.concat([within, tiny]))).to.equal('notTls');
  });

  it('judges a 64 KiB drip of one-byte records in few looks and little time', () => {
    // One connection sending these one record per segment once cost ~16 ms per look, ~100 s in all.
    const start = Buffer.from([22, 3, 1, 0, 4, 1, 0, 0xea, 0x60]);
    const tiny = Buffer.from([22, 3, 1, 0, 1, 0]);
    const data = Buffer.concat([start, ...Array<Buffer>(11_000).fill(tiny)]);
    const began = process.hrtime.bigint();
    let looks = 0;
    let wanted = 1;
    let verdict: ClientHelloVerdict = 'incomplete';
    for (let length = 6; length <= data.length && verdict === 'incomplete'; length += 6) {
      if (length < wanted) continue;
      looks++;
      verdict = inspectClientHello(data.subarray(0, length));
      if (verdict === 'incomplete') wanted = clientHelloBytesWanted(data.subarray(0, length));
    }
    expect(verdict).to.equal('notTls');
    expect(looks).to.be.at.most(2 * MAX_CLIENT_HELLO_RECORDS + 2);
    expect(Number(process.hrtime.bigint() - began) / 1e6).to.be.lessThan(1000);
  });
});
