import { expect } from 'chai';
import { checkTrailers, parseRequestHead, parseResponseHead } from '../../../lib/transport/http/message-head';

const REQUEST = [':method', 'POST', ':scheme', 'http', ':path', '/pkg.Service/Method', ':authority', 'localhost:50051'];
const GRPC_REGULAR = ['content-type', 'application/grpc', 'te', 'trailers', 'grpc-timeout', '1S'];

/** A reason is any non-empty string; a parse result is an object. */
function expectReason(result: unknown, pattern?: RegExp): void {
  expect(result, 'expected a reason string').to.be.a('string');
  expect((result as string).length).to.be.greaterThan(0);
  if (pattern !== undefined) expect(result).to.match(pattern);
}

/** Replaces the value of `name` in a copy of `headers`. */
function withValue(headers: string[], name: string, value: string): string[] {
  const copy = headers.slice();
  copy[copy.indexOf(name) + 1] = value;
  return copy;
}

/** Removes `name` (and its value) from a copy of `headers`. */
function without(headers: string[], name: string): string[] {
  const copy = headers.slice();
  copy.splice(copy.indexOf(name), 2);
  return copy;
}

describe('header list validation (RFC 9113 §8.2, §8.3)', () => {
  describe('parseRequestHead', () => {
    it('returns the pseudo-header fields of a valid request', () => {
      expect(parseRequestHead([...REQUEST, ...GRPC_REGULAR])).to.deep.equal({
        method: 'POST',
        scheme: 'http',
        path: '/pkg.Service/Method',
        authority: 'localhost:50051',
        contentLength: -1,
      });
    });

    it('accepts pseudo-headers in any order and no regular fields', () => {
      expect(parseRequestHead([':path', '/', ':authority', 'a', ':scheme', 'https', ':method', 'GET'])).to.deep.equal({
        method: 'GET',
        scheme: 'https',
        path: '/',
        authority: 'a',
        contentLength: -1,
      });
    });

    it('reads content-length; repeated equal values are one, different or non-numeric ones are malformed', () => {
      expect(parseRequestHead([...REQUEST, 'content-length', '12'])).to.include({ contentLength: 12 });
      expect(parseRequestHead([...REQUEST, 'content-length', '0', 'content-length', '0'])).to.include({ contentLength: 0 });
      expectReason(parseRequestHead([...REQUEST, 'content-length', '1', 'content-length', '2']), /content-length/);
      expectReason(parseRequestHead([...REQUEST, 'content-length', '-1']), /content-length/);
      expectReason(parseRequestHead([...REQUEST, 'content-length', '1,1']), /content-length/);
      expect(parseResponseHead([':status', '200', 'content-length', '5'])).to.deep.equal({ status: 200, contentLength: 5 });
      expectReason(parseResponseHead([':status', '200', 'content-length', 'x']), /content-length/);
    });

    it('treats :authority as optional (empty string when absent)', () => {
      expect(parseRequestHead([':method', 'GET', ':scheme', 'http', ':path', '/'])).to.deep.equal({
        method: 'GET',
        scheme: 'http',
        path: '/',
        authority: '',
        contentLength: -1,
      });
    });

    it('accepts an empty regular value, token characters in names, and obs-text in values', () => {
      const result = parseRequestHead([...REQUEST, 'x-empty', '', "x!#$%&'*+-.^_`|~09", 'v', 'x-latin1', 'caf\u00e9', 'x-inner', 'a \t b']);
      expect(result).to.be.an('object');
    });

    it('rejects a pseudo-header after a regular field (§8.3)', () => {
      expectReason(parseRequestHead([':method', 'POST', ':scheme', 'http', 'content-type', 'application/grpc', ':path', '/x']), /after regular/);
    });

    it('rejects duplicate pseudo-headers (§8.3.1)', () => {
      for (const name of [':method', ':scheme', ':path', ':authority']) {
        const index = REQUEST.indexOf(name);
        const duplicated = [...REQUEST.slice(0, index + 2), name, REQUEST[index + 1]!, ...REQUEST.slice(index + 2)];
        expectReason(parseRequestHead(duplicated), /duplicate/);
      }
    });

    it('rejects unknown pseudo-headers and response pseudo-headers in a request (§8.3)', () => {
      expectReason(parseRequestHead([...REQUEST, ':protocol', 'websocket']), /pseudo-header/);
      expectReason(parseRequestHead([...REQUEST, ':status', '200']), /pseudo-header/);
      expectReason(parseRequestHead([...REQUEST, ':', 'x']), /pseudo-header/);
    });

    it('rejects a request missing :method, :scheme or :path (§8.3.1)', () => {
      expectReason(parseRequestHead(without(REQUEST, ':method')), /:method/);
      expectReason(parseRequestHead(without(REQUEST, ':scheme')), /:scheme/);
      expectReason(parseRequestHead(without(REQUEST, ':path')), /:path/);
      expectReason(parseRequestHead([]), /:method/);
    });

    it('rejects an empty :path (§8.3.1)', () => {
      expectReason(parseRequestHead(withValue(REQUEST, ':path', '')), /:path/);
    });

    it('rejects uppercase characters in field names, regular or pseudo (§8.2.1)', () => {
      expectReason(parseRequestHead([...REQUEST, 'Content-Type', 'application/grpc']), /field name/);
      expectReason(parseRequestHead([...REQUEST, 'x-A', 'v']), /field name/);
      expectReason(parseRequestHead([':Method', 'POST', ...REQUEST.slice(2)]), /field name/);
    });

    it('rejects other characters not allowed in field names: SP, controls, colon, DEL, non-ASCII (§8.2.1)', () => {
      for (const name of ['x y', 'x\ty', 'x\0', 'x:y', 'x\x7f', 'x\u00e9', 'x"y', 'x(y)', 'x/y', 'x@y', 'x,y']) {
        expectReason(parseRequestHead([...REQUEST, name, 'v']), /field name/);
      }
    });

    it('rejects an empty field name', () => {
      expectReason(parseRequestHead([...REQUEST, '', 'v']));
    });

    it('rejects connection-specific fields (§8.2.2)', () => {
      for (const name of ['connection', 'proxy-connection', 'keep-alive', 'transfer-encoding', 'upgrade']) {
        expectReason(parseRequestHead([...REQUEST, name, 'x']), new RegExp(name));
      }
    });

    it('accepts te: trailers and rejects any other te value (§8.2.2)', () => {
      expect(parseRequestHead([...REQUEST, 'te', 'trailers'])).to.be.an('object');
      for (const value of ['gzip', 'trailers, deflate', 'Trailers', '']) {
        expectReason(parseRequestHead([...REQUEST, 'te', value]), /te/);
      }
    });

    it('rejects NUL, CR and LF anywhere in a value, regular or pseudo (§8.2.1)', () => {
      for (const value of ['a\0b', 'a\rb', 'a\nb', '\0', 'ab\r\n']) {
        expectReason(parseRequestHead([...REQUEST, 'x-v', value]), /character in value/);
      }
      expectReason(parseRequestHead(withValue(REQUEST, ':path', '/a\nb')), /character in value/);
      expectReason(parseRequestHead(withValue(REQUEST, ':authority', 'host\0')), /character in value/);
    });

    it('rejects leading or trailing SP or HTAB in a value, regular or pseudo (§8.2.1)', () => {
      for (const value of [' a', 'a ', '\ta', 'a\t', ' ', '\t']) {
        expectReason(parseRequestHead([...REQUEST, 'x-v', value]), /whitespace/);
      }
      expectReason(parseRequestHead(withValue(REQUEST, ':method', 'POST ')), /whitespace/);
      expectReason(parseRequestHead(withValue(REQUEST, ':path', ' /x')), /whitespace/);
    });

    describe('CONNECT (§8.5)', () => {
      it('accepts :method CONNECT with :authority and without :scheme and :path', () => {
        expect(parseRequestHead([':method', 'CONNECT', ':authority', 'example.com:443'])).to.deep.equal({
          method: 'CONNECT',
          scheme: '',
          path: '',
          authority: 'example.com:443',
          contentLength: -1,
        });
      });

      it('rejects CONNECT without :authority, or with :scheme or :path', () => {
        expectReason(parseRequestHead([':method', 'CONNECT']), /CONNECT/);
        expectReason(parseRequestHead([':method', 'CONNECT', ':authority', 'a:1', ':scheme', 'https']), /CONNECT/);
        expectReason(parseRequestHead([':method', 'CONNECT', ':authority', 'a:1', ':path', '/']), /CONNECT/);
      });

      it('still validates the regular fields of a CONNECT request', () => {
        expectReason(parseRequestHead([':method', 'CONNECT', ':authority', 'a:1', 'connection', 'close']), /connection/);
      });
    });
  });

  describe('parseResponseHead', () => {
    it('returns the numeric :status of a valid response', () => {
      expect(parseResponseHead([':status', '200', 'content-type', 'application/grpc', 'x-meta', 'v'])).to.deep.equal({ status: 200, contentLength: -1 });
      expect(parseResponseHead([':status', '404'])).to.deep.equal({ status: 404, contentLength: -1 });
    });

    it('rejects a missing, duplicate or malformed :status (§8.3.2)', () => {
      expectReason(parseResponseHead(['content-type', 'application/grpc']), /:status/);
      expectReason(parseResponseHead([]), /:status/);
      expectReason(parseResponseHead([':status', '200', ':status', '200']), /duplicate/);
      for (const value of ['', '20', '2000', 'abc', ' 200', '200 ', '-20', '2e2']) {
        expectReason(parseResponseHead([':status', value]), /:status/);
      }
    });

    it('rejects request and unknown pseudo-headers in a response (§8.3)', () => {
      expectReason(parseResponseHead([':status', '200', ':path', '/']), /pseudo-header/);
      expectReason(parseResponseHead([':method', 'GET', ':status', '200']), /pseudo-header/);
      expectReason(parseResponseHead([':status', '200', ':foo', 'x']), /pseudo-header/);
    });

    it('rejects :status after a regular field', () => {
      expectReason(parseResponseHead(['content-type', 'application/grpc', ':status', '200']), /after regular/);
    });

    it('applies the regular-field rules: names, connection-specific fields, te, values', () => {
      expectReason(parseResponseHead([':status', '200', 'Content-Type', 'application/grpc']), /field name/);
      expectReason(parseResponseHead([':status', '200', 'connection', 'close']), /connection/);
      expectReason(parseResponseHead([':status', '200', 'transfer-encoding', 'chunked']), /transfer-encoding/);
      expectReason(parseResponseHead([':status', '200', 'te', 'gzip']), /te/);
      expectReason(parseResponseHead([':status', '200', 'x-v', 'a\r\nb']), /character in value/);
      expectReason(parseResponseHead([':status', '200', 'x-v', 'a ']), /whitespace/);
    });
  });

  describe('checkTrailers', () => {
    it('accepts gRPC trailers', () => {
      expect(checkTrailers(['grpc-status', '0', 'grpc-message', 'OK', 'x-bin', 'AQ'])).to.equal(null);
      expect(checkTrailers([])).to.equal(null);
    });

    it('rejects any pseudo-header in trailers (§8.1)', () => {
      expectReason(checkTrailers([':status', '200']), /pseudo-header/);
      expectReason(checkTrailers(['grpc-status', '0', ':path', '/']), /pseudo-header/);
    });

    it('applies the regular-field rules: names, connection-specific fields, te, values', () => {
      expectReason(checkTrailers(['Grpc-Status', '0']), /field name/);
      expectReason(checkTrailers(['', '0']));
      expectReason(checkTrailers(['grpc-status', '0', 'keep-alive', 'timeout=5']), /keep-alive/);
      expectReason(checkTrailers(['te', 'deflate']), /te/);
      expectReason(checkTrailers(['grpc-message', 'a\0b']), /character in value/);
      expectReason(checkTrailers(['grpc-message', '\tmessage']), /whitespace/);
    });
  });
});
