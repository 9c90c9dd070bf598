import { expect } from 'chai';
import { checkHttpRequest, isEarlyAnswer, parseCallOptions, scanGrpcRequest } from '../../../lib/grpc/protocol/request-headers';
import { Status } from '../../../lib/grpc/status';

const GRPC = ['content-type', 'application/grpc', 'te', 'trailers'];

describe('gRPC request head (request-headers.ts)', () => {
  it('scans the fields the server acts on, the first of each', () => {
    expect(
      scanGrpcRequest([...GRPC, 'grpc-timeout', '5S', 'grpc-encoding', 'gzip', 'grpc-accept-encoding', 'gzip, deflate', 'grpc-timeout', '1S']),
    ).to.deep.equal({
      contentType: 'application/grpc',
      timeout: '5S',
      encoding: 'gzip',
      acceptEncoding: 'gzip, deflate',
    });
    expect(scanGrpcRequest([])).to.deep.equal({ contentType: undefined, timeout: undefined, encoding: undefined, acceptEncoding: undefined });
  });

  it('checkHttpRequest: POST with application/grpc passes; other methods get 405, other content types 415', () => {
    expect(checkHttpRequest('POST', scanGrpcRequest(GRPC))).to.equal(null);
    expect(checkHttpRequest('POST', scanGrpcRequest(['content-type', 'application/grpc+proto']))).to.equal(null);
    expect(checkHttpRequest('GET', scanGrpcRequest(GRPC))).to.include({ httpStatus: 405, code: Status.INTERNAL });
    expect(checkHttpRequest('POST', scanGrpcRequest(['content-type', 'text/plain']))).to.include({ httpStatus: 415, code: Status.UNKNOWN });
    expect(checkHttpRequest('POST', scanGrpcRequest([]))).to.include({ httpStatus: 415 });
  });

  it('parseCallOptions: the deadline from grpc-timeout relative to now, identity by default', () => {
    const options = parseCallOptions(scanGrpcRequest([...GRPC, 'grpc-timeout', '250m', 'grpc-accept-encoding', 'gzip']), () => 1000);
    expect(options).to.deep.equal({ deadline: 1250, requestEncoding: 'identity', acceptEncoding: 'gzip' });
    // Without a grpc-timeout the clock is not read at all.
    const clock = () => expect.fail('the clock was read for a request without grpc-timeout');
    expect(parseCallOptions(scanGrpcRequest(GRPC), clock)).to.deep.equal({ deadline: Infinity, requestEncoding: 'identity', acceptEncoding: undefined });
  });

  it('parseCallOptions: a malformed grpc-timeout is INTERNAL; an unknown grpc-encoding is UNIMPLEMENTED listing ours', () => {
    const malformed = parseCallOptions(scanGrpcRequest([...GRPC, 'grpc-timeout', '5 seconds']), () => 0);
    expect(isEarlyAnswer(malformed)).to.equal(true);
    expect(malformed).to.include({ httpStatus: 200, code: Status.INTERNAL });
    const unknown = parseCallOptions(scanGrpcRequest([...GRPC, 'grpc-encoding', 'br']), () => 0);
    expect(unknown).to.deep.include({ httpStatus: 200, code: Status.UNIMPLEMENTED, extra: ['grpc-accept-encoding', 'identity,deflate,gzip'] });
  });
});
