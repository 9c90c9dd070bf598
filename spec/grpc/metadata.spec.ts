import { expect } from 'chai';
import * as grpc from '@grpc/grpc-js';
import { getLogger, setLogger } from '../../lib/grpc/logging';
import { isReservedHeader, Metadata, toMetadata } from '../../lib/grpc/metadata';

function pairs(headers: string[]): Array<[string, string]> {
  const result: Array<[string, string]> = [];
  for (let index = 0; index < headers.length; index += 2) result.push([headers[index]!, headers[index + 1]!]);
  return result;
}

describe('Metadata', () => {
  describe('grpc-js compatible API', () => {
    it('set replaces, add appends, get returns every value in order', () => {
      const metadata = new Metadata();
      metadata.set('key', 'one');
      metadata.add('key', 'two');
      expect(metadata.get('key')).to.deep.equal(['one', 'two']);
      metadata.set('key', 'three');
      expect(metadata.get('key')).to.deep.equal(['three']);
    });

    it('get returns an empty array for a missing key', () => {
      expect(new Metadata().get('missing')).to.deep.equal([]);
    });

    it('lowercases keys on set, add, get and remove', () => {
      const metadata = new Metadata();
      metadata.set('X-Custom', 'a');
      metadata.add('x-CUSTOM', 'b');
      expect(metadata.get('X-CUSTOM')).to.deep.equal(['a', 'b']);
      expect(metadata.getMap()).to.deep.equal({ 'x-custom': 'a' });
      metadata.remove('X-Custom');
      expect(metadata.get('x-custom')).to.deep.equal([]);
    });

    it('remove deletes every value of the key and leaves others', () => {
      const metadata = new Metadata();
      metadata.add('a', '1');
      metadata.add('a', '2');
      metadata.add('b', '3');
      metadata.remove('a');
      expect(metadata.toJSON()).to.deep.equal({ b: ['3'] });
      expect(() => metadata.remove('not-there')).to.not.throw();
    });

    it('accepts keys made of 0-9 a-z _ - . (PROTOCOL-HTTP2.md Header-Name)', () => {
      const metadata = new Metadata();
      metadata.set('abc_xyz-0.9', 'v');
      expect(metadata.get('abc_xyz-0.9')).to.deep.equal(['v']);
    });

    it('throws for illegal keys', () => {
      const metadata = new Metadata();
      for (const key of ['', 'has space', 'colon:', ':path', 'slash/', 'ümlaut', 'tab\t', 'x!y', 'a,b']) {
        expect(() => metadata.set(key, 'v'), JSON.stringify(key)).to.throw(/illegal characters/);
        expect(() => metadata.add(key, 'v'), JSON.stringify(key)).to.throw(/illegal characters/);
      }
      expect(metadata.size).to.equal(0);
    });

    it("requires Buffer values for '-bin' keys and string values for the others", () => {
      const metadata = new Metadata();
      expect(() => metadata.set('data-bin', 'text' as unknown as Buffer)).to.throw(/-bin/);
      expect(() => metadata.add('data-bin', 'text' as unknown as Buffer)).to.throw(/-bin/);
      expect(() => metadata.set('text', Buffer.from('x'))).to.throw(/String/);
      expect(() => metadata.add('text', Buffer.from('x'))).to.throw(/String/);
      metadata.set('DATA-BIN', Buffer.from([0, 1, 2]));
      expect(metadata.get('data-bin')).to.deep.equal([Buffer.from([0, 1, 2])]);
      expect(metadata.size).to.equal(1);
    });

    it('accepts printable ASCII string values, space included, and the empty string', () => {
      const metadata = new Metadata();
      const printable = Array.from({ length: 0x7f - 0x20 }, (_, index) => String.fromCharCode(0x20 + index)).join('');
      metadata.set('all', printable);
      metadata.set('empty', '');
      expect(metadata.get('all')).to.deep.equal([printable]);
      expect(metadata.get('empty')).to.deep.equal(['']);
    });

    it('throws for string values outside printable ASCII', () => {
      const metadata = new Metadata();
      for (const value of ['line\nbreak', 'cr\r', 'nul\0', 'tab\t', 'del\x7f', 'é', '☺']) {
        expect(() => metadata.set('key', value), JSON.stringify(value)).to.throw(/illegal characters/);
        expect(() => metadata.add('key', value), JSON.stringify(value)).to.throw(/illegal characters/);
      }
      expect(metadata.size).to.equal(0);
    });

    it('getMap gives the first value of each key', () => {
      const metadata = new Metadata();
      metadata.add('a', '1');
      metadata.add('a', '2');
      metadata.add('b-bin', Buffer.from('x'));
      expect(metadata.getMap()).to.deep.equal({ a: '1', 'b-bin': Buffer.from('x') });
    });

    it('toJSON gives every value of each key (and is what JSON.stringify uses)', () => {
      const metadata = new Metadata();
      metadata.add('a', '1');
      metadata.add('a', '2');
      metadata.add('b', '3');
      expect(metadata.toJSON()).to.deep.equal({ a: ['1', '2'], b: ['3'] });
      expect(JSON.parse(JSON.stringify(metadata))).to.deep.equal({ a: ['1', '2'], b: ['3'] });
    });

    it('clone is independent of the original (value lists and options)', () => {
      const original = new Metadata({ waitForReady: true });
      original.add('a', '1');
      const copy = original.clone();
      copy.add('a', '2');
      copy.set('b', '3');
      original.add('c', '4');
      expect(original.toJSON()).to.deep.equal({ a: ['1'], c: ['4'] });
      expect(copy.toJSON()).to.deep.equal({ a: ['1', '2'], b: ['3'] });
      expect(copy.getOptions()).to.deep.equal({ waitForReady: true });
    });

    it('clone copies Buffer values like grpc-js, so changing a cloned Buffer leaves the original intact', () => {
      // @grpc/grpc-js Metadata#clone maps each Buffer through Buffer.from(v).
      const original = new Metadata();
      original.set('data-bin', Buffer.from([1, 2, 3]));
      const copy = original.clone();
      (copy.get('data-bin')[0] as Buffer)[0] = 99;
      expect(original.get('data-bin')[0]).to.deep.equal(Buffer.from([1, 2, 3]));
    });

    it('merge appends the other values after ours, key by key, leaving the other unchanged', () => {
      const ours = new Metadata();
      ours.add('a', '1');
      ours.add('b', '2');
      const theirs = new Metadata();
      theirs.add('a', '3');
      theirs.add('c', '4');
      ours.merge(theirs);
      expect(ours.toJSON()).to.deep.equal({ a: ['1', '3'], b: ['2'], c: ['4'] });
      expect(theirs.toJSON()).to.deep.equal({ a: ['3'], c: ['4'] });
      // Later changes to theirs do not reach ours.
      theirs.add('c', '5');
      expect(ours.get('c')).to.deep.equal(['4']);
    });

    it('keeps options (setOptions/getOptions)', () => {
      const metadata = new Metadata();
      expect(metadata.getOptions()).to.deep.equal({});
      metadata.setOptions({ idempotentRequest: true });
      expect(metadata.getOptions()).to.deep.equal({ idempotentRequest: true });
    });
  });

  describe('isReservedHeader', () => {
    it('reserves pseudo-headers, the gRPC protocol headers and connection-specific fields', () => {
      for (const key of [
        ':path',
        ':status',
        'content-type',
        'te',
        'grpc-status',
        'grpc-message',
        'grpc-timeout',
        'grpc-encoding',
        'grpc-accept-encoding',
        'grpc-status-details-bin',
        'connection',
        'keep-alive',
        'transfer-encoding',
        'upgrade',
        'proxy-connection',
      ]) {
        expect(isReservedHeader(key), key).to.equal(true);
      }
    });

    it('does not reserve ordinary metadata', () => {
      for (const key of ['authorization', 'user-agent', 'x-custom', 'trace-proto-bin', 'grpcx']) {
        expect(isReservedHeader(key), key).to.equal(false);
      }
    });
  });

  describe('appendToHeaders', () => {
    it('appends every value after the existing headers, keeping order per key', () => {
      const metadata = new Metadata();
      metadata.add('x-a', '1');
      metadata.add('x-b', '2');
      metadata.add('x-a', '3');
      const headers = [':status', '200'];
      const result = metadata.appendToHeaders(headers);
      expect(result).to.equal(headers);
      expect(pairs(headers)).to.deep.equal([
        [':status', '200'],
        ['x-a', '1'],
        ['x-a', '3'],
        ['x-b', '2'],
      ]);
    });

    it('skips reserved keys a handler must not set', () => {
      const metadata = new Metadata();
      for (const key of ['grpc-status', 'grpc-message', 'content-type', 'te', 'connection', 'grpc-timeout', 'transfer-encoding']) metadata.set(key, 'x');
      metadata.set('grpc-status-details-bin', Buffer.from('x'));
      metadata.set('kept', 'yes');
      expect(pairs(metadata.appendToHeaders([]))).to.deep.equal([['kept', 'yes']]);
    });

    it('skips pseudo-header keys even if they got into the map without validation', () => {
      // set/add reject ':' in keys; a subclass can still write internalRepr directly.
      class Unchecked extends Metadata {
        inject(key: string, value: string): void {
          this.internalRepr.set(key, [value]);
        }
      }
      const metadata = new Unchecked();
      metadata.inject(':path', '/evil');
      metadata.inject(':status', '500');
      metadata.set('kept', 'yes');
      expect(pairs(metadata.appendToHeaders([]))).to.deep.equal([['kept', 'yes']]);
    });

    it('base64-encodes -bin values (RFC 4648 §4 alphabet) so they decode to the same bytes', () => {
      const metadata = new Metadata();
      const bytes = Buffer.from([0x00, 0xff, 0xfe, 0x80, 0x7f]);
      metadata.add('trace-bin', bytes);
      metadata.add('trace-bin', Buffer.alloc(0));
      const headers = pairs(metadata.appendToHeaders([]));
      expect(headers.map(([name]) => name)).to.deep.equal(['trace-bin', 'trace-bin']);
      // PROTOCOL-HTTP2.md: receivers MUST accept padded and un-padded; senders should emit un-padded.
      expect(headers[0]![1]).to.match(/^[A-Za-z0-9+/]*={0,2}$/);
      expect(headers[0]![1].replace(/=+$/, '')).to.equal('AP/+gH8');
      expect(Buffer.from(headers[0]![1], 'base64')).to.deep.equal(bytes);
      expect(headers[1]![1]).to.equal('');
    });
  });

  describe('fromHeaders', () => {
    it('keeps custom metadata and skips pseudo-headers and reserved fields', () => {
      const metadata = Metadata.fromHeaders([
        ':method',
        'POST',
        ':scheme',
        'http',
        ':path',
        '/pkg.Service/Method',
        ':authority',
        'localhost',
        'content-type',
        'application/grpc',
        'te',
        'trailers',
        'grpc-timeout',
        '1S',
        'grpc-encoding',
        'gzip',
        'grpc-accept-encoding',
        'gzip,deflate',
        'user-agent',
        'grpc-node-js/1.0',
        'authorization',
        'Bearer token',
      ]);
      expect(metadata.toJSON()).to.deep.equal({ 'user-agent': ['grpc-node-js/1.0'], authorization: ['Bearer token'] });
    });

    it('starts at the given index', () => {
      const metadata = Metadata.fromHeaders(['skipped', '1', 'kept', '2'], 2);
      expect(metadata.toJSON()).to.deep.equal({ kept: ['2'] });
    });

    it('joins a repeated ASCII key into one value as node:http2 (and so grpc-js) does', () => {
      const metadata = Metadata.fromHeaders(['x-a', '1', 'x-b', '2', 'x-a', '3', 'x-a', '4']);
      expect(metadata.get('x-a')).to.deep.equal(['1, 3, 4']);
      expect(metadata.get('x-b')).to.deep.equal(['2']);
    });

    it('joins cookie with "; " and keeps only the first of the fields node keeps once', () => {
      const metadata = Metadata.fromHeaders([
        'cookie',
        'a=1',
        'user-agent',
        'one',
        'cookie',
        'b=2',
        'user-agent',
        'two',
        'authorization',
        'x',
        'authorization',
        'y',
      ]);
      expect(metadata.get('cookie')).to.deep.equal(['a=1; b=2']);
      expect(metadata.get('user-agent')).to.deep.equal(['one']);
      expect(metadata.get('authorization')).to.deep.equal(['x']);
    });

    it('leaves an illegal repeated value out of the joined one', () => {
      expect(Metadata.fromHeaders(['x-a', '1', 'x-a', 'caf\u00e9', 'x-a', '3']).get('x-a')).to.deep.equal(['1, 3']);
    });

    it('keeps commas inside ASCII values (only -bin values are split)', () => {
      expect(Metadata.fromHeaders(['x-list', 'a, b,c']).get('x-list')).to.deep.equal(['a, b,c']);
    });

    it('decodes -bin values, padded and unpadded', () => {
      const metadata = Metadata.fromHeaders(['a-bin', 'AQID', 'b-bin', 'AQI=', 'c-bin', 'AQI', 'd-bin', 'AQ==', 'e-bin', 'AQ', 'f-bin', '']);
      expect(metadata.get('a-bin')).to.deep.equal([Buffer.from([1, 2, 3])]);
      expect(metadata.get('b-bin')).to.deep.equal([Buffer.from([1, 2])]);
      expect(metadata.get('c-bin')).to.deep.equal([Buffer.from([1, 2])]);
      expect(metadata.get('d-bin')).to.deep.equal([Buffer.from([1])]);
      expect(metadata.get('e-bin')).to.deep.equal([Buffer.from([1])]);
      expect(metadata.get('f-bin')).to.deep.equal([Buffer.alloc(0)]);
    });

    it('splits comma-separated -bin values before decoding, with optional spaces', () => {
      const metadata = Metadata.fromHeaders(['x-bin', 'AQ==,AgM, BAUG', 'x-bin', 'Bw']);
      expect(metadata.get('x-bin')).to.deep.equal([Buffer.from([1]), Buffer.from([2, 3]), Buffer.from([4, 5, 6]), Buffer.from([7])]);
    });

    it('keeps grpc-status-details-bin only when asked', () => {
      const headers = ['grpc-status', '3', 'grpc-message', 'bad', 'grpc-status-details-bin', 'CAM', 'x', 'y'];
      expect(Metadata.fromHeaders(headers).toJSON()).to.deep.equal({ x: ['y'] });
      const kept = Metadata.fromHeaders(headers, 0, true);
      expect(kept.get('grpc-status-details-bin')).to.deep.equal([Buffer.from([8, 3])]);
      expect(kept.get('grpc-status')).to.deep.equal([]);
      expect(kept.get('grpc-message')).to.deep.equal([]);
    });

    it('round-trips through appendToHeaders', () => {
      const metadata = new Metadata();
      metadata.add('x-a', '1');
      metadata.add('x-a', '2');
      metadata.add('x-bin', Buffer.from([0xde, 0xad]));
      metadata.add('x-bin', Buffer.from([0xbe, 0xef]));
      // What grpc-js sees too: its server gets the repeated ASCII key joined by node:http2.
      expect(Metadata.fromHeaders(metadata.appendToHeaders([])).toJSON()).to.deep.equal({
        'x-a': ['1, 2'],
        'x-bin': [Buffer.from([0xde, 0xad]), Buffer.from([0xbe, 0xef])],
      });
    });

    it('never lets received metadata break the application when it echoes it back with add()', () => {
      // PROTOCOL-HTTP2.md: an invalid ASCII-Value that is a valid HTTP field-value must not cause an
      // error; it may be thrown away or accepted, but if accepted "the application should not
      // trigger an error by providing that same list as the metadata in the response".
      // fromHeaders' own doc comment promises that such a value "is dropped", as grpc-js does.
      // Both field names below are valid HTTP tokens and both values valid HTTP field-values
      // (the HPACK layer accepts them), but neither is legal gRPC metadata.
      const received = Metadata.fromHeaders(['x-utf8', 'caf\u00c3\u00a9', 'x!bang', 'v', 'ok', 'fine']);
      const echoed = new Metadata();
      for (const [key, values] of Object.entries(received.toJSON())) {
        for (const value of values) expect(() => echoed.add(key, value), `${key}: ${String(value)}`).to.not.throw();
      }
      expect(echoed.get('ok')).to.deep.equal(['fine']);
    });
  });

  describe("the rest of grpc-js's API", () => {
    it('toHttp2Headers gives a string for one value, an array for several, base64 for Buffers, no ":" keys', () => {
      const metadata = new Metadata();
      metadata.add('x-one', 'a');
      metadata.add('x-two', 'b');
      metadata.add('x-two', 'c');
      metadata.add('x-bin', Buffer.from([1, 2, 3]));
      metadata.add('y-bin', Buffer.from([4]));
      metadata.add('y-bin', Buffer.from([5]));
      // grpc-js skips pseudo-header keys that got into the map unvalidated.
      metadata.internalRepr.set(':path', ['/x']);
      expect(metadata.toHttp2Headers()).to.deep.equal({ 'x-one': 'a', 'x-two': ['b', 'c'], 'x-bin': 'AQID', 'y-bin': ['BA==', 'BQ=='] });
    });

    it('fromHttp2Headers takes strings and arrays, decodes -bin, splits custom -bin strings, skips ":" keys', () => {
      const metadata = Metadata.fromHttp2Headers({
        ':path': '/x',
        'x-one': 'a, b',
        'x-arr': ['c', 'd'],
        'x-bin': 'AQ==, Ag==',
        'y-bin': ['Aw==', 'BA=='],
        'grpc-status-details-bin': 'BQ==',
        'x-none': undefined,
      });
      expect(metadata.toJSON()).to.deep.equal({
        'x-one': ['a, b'],
        'x-arr': ['c', 'd'],
        'x-bin': [Buffer.from([1]), Buffer.from([2])],
        'y-bin': [Buffer.from([3]), Buffer.from([4])],
        'grpc-status-details-bin': [Buffer.from([5])],
      });
    });

    it('fromHttp2Headers logs and leaves out an entry that is not legal metadata', () => {
      const lines: string[] = [];
      const previous = getLogger();
      setLogger({ error: (line: unknown) => lines.push(String(line)) });
      try {
        const metadata = Metadata.fromHttp2Headers({ 'x-ok': 'fine', 'x-bad': 'caf\u00e9', 'Bad Key': 'v' });
        expect(metadata.toJSON()).to.deep.equal({ 'x-ok': ['fine'] });
      } finally {
        setLogger(previous);
      }
      expect(lines).to.have.length(2);
      expect(lines[0]).to.match(/Failed to add metadata entry x-bad/);
    });

    it('setOpaque/getOpaque keep data that is never sent, and clone does not copy it (as grpc-js)', () => {
      const metadata = new Metadata();
      const data = { any: 'thing' };
      expect(metadata.getOpaque('k')).to.equal(undefined);
      metadata.setOpaque('k', data);
      expect(metadata.getOpaque('k')).to.equal(data);
      expect(metadata.toHttp2Headers()).to.deep.equal({});
      expect(metadata.appendToHeaders([])).to.deep.equal([]);
      expect(metadata.clone().getOpaque('k')).to.equal(undefined);
    });

    it('getMap copies Buffer values, so changing one leaves the metadata intact', () => {
      const metadata = new Metadata();
      metadata.set('x-bin', Buffer.from([1]));
      (metadata.getMap()['x-bin'] as Buffer)[0] = 9;
      expect(metadata.get('x-bin')).to.deep.equal([Buffer.from([1])]);
    });
  });

  describe('interop with @grpc/grpc-js Metadata', () => {
    it("our instances pass grpc-js's instanceof check (its client tells metadata from options with it)", () => {
      expect(new Metadata()).to.be.instanceOf(grpc.Metadata);
      expect(new Metadata().clone()).to.be.instanceOf(grpc.Metadata);
    });

    it("each class's merge reads the other's instances", () => {
      const ours = new Metadata();
      ours.add('x-a', '1');
      const theirs = new grpc.Metadata();
      theirs.add('x-a', '2');
      theirs.add('x-bin', Buffer.from([7]));
      ours.merge(theirs as unknown as Metadata);
      expect(ours.toJSON()).to.deep.equal({ 'x-a': ['1', '2'], 'x-bin': [Buffer.from([7])] });
      const back = new grpc.Metadata();
      back.merge(ours as unknown as grpc.Metadata);
      expect(back.toJSON()).to.deep.equal(ours.toJSON());
    });

    it("grpc-js's methods work on our instances, and give what ours give", () => {
      const ours = new Metadata({ waitForReady: true });
      ours.add('x-a', '1');
      ours.add('x-a', '2');
      ours.add('x-bin', Buffer.from([1, 2]));
      const theirs = grpc.Metadata.prototype;
      expect(theirs.toHttp2Headers.call(ours)).to.deep.equal(ours.toHttp2Headers());
      expect(theirs.getMap.call(ours)).to.deep.equal(ours.getMap());
      expect(theirs.getOptions.call(ours)).to.deep.equal({ waitForReady: true });
      expect(theirs.clone.call(ours).toJSON()).to.deep.equal(ours.toJSON());
      theirs.setOpaque.call(ours, 'k', 1);
      expect(ours.getOpaque('k')).to.equal(1);
    });

    it("fromHttp2Headers gives what grpc-js's gives", () => {
      const headers = { 'x-a': 'a, b', 'x-arr': ['c', 'd'], 'x-bin': 'AQ==,Ag==', 'grpc-x-bin': 'Aw==' };
      expect(Metadata.fromHttp2Headers(headers).toJSON()).to.deep.equal(grpc.Metadata.fromHttp2Headers(headers).toJSON());
    });

    it('toMetadata converts grpc-js metadata to ours with every value', () => {
      const theirs = new grpc.Metadata();
      theirs.add('x-a', '1');
      theirs.add('x-a', '2');
      theirs.add('x-bin', Buffer.from([3]));
      const converted = toMetadata(theirs)!;
      expect(converted).to.be.instanceOf(Metadata);
      expect(converted.toJSON()).to.deep.equal(theirs.toJSON());
    });
  });
});
