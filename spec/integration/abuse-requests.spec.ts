/**
 * Hardening acceptance specs, malformed requests (RFC 9113 §8.1, §8.1.1): a pseudo-header in the
 * request trailers, or a content-length that does not match the DATA received, makes the request
 * malformed: a stream error of type PROTOCOL_ERROR, and the connection keeps serving.
 */
import { expect } from 'chai';
import { ErrorCode } from '../../lib/transport/errors';
import { attackTargets, expectServerUnharmed, underAttack } from '../support/abuse-scenario';
import { frames } from '../support/frames';
import { headerValue, type RawPeer } from '../support/raw-peer';
import { echoMessage, grpcRequestHeaders } from '../support/echo-request';

/** A normal call on `streamId` of an existing connection gets grpc-status 0. */
async function expectWorkingCall(peer: RawPeer, streamId: number): Promise<void> {
  peer.request(streamId, grpcRequestHeaders(), echoMessage(`call ${streamId}`));
  const response = await peer.expectResponse(streamId);
  expect(headerValue(response.headers, ':status')).to.equal('200');
  expect(response.grpcStatus, 'grpc-status').to.equal('0');
}

describe('abuse: malformed requests (hardening acceptance, 10)', function () {
  this.timeout(20000);
  const start = attackTargets();

  /** Sends `request` on stream 1, expects RST_STREAM(PROTOCOL_ERROR) for it, then a good call on stream 3. */
  async function malformed(request: (peer: RawPeer) => Buffer[]): Promise<void> {
    const target = await start();
    const peer = await target.connect();
    peer.sendPreface();
    const outcome = await underAttack(target.port, async () => {
      peer.send(request(peer));
      const reset = await peer.expectRstStream(1, ErrorCode.PROTOCOL_ERROR).then(
        () => null,
        (error: Error) => error,
      );
      const next = await expectWorkingCall(peer, 3).then(
        () => null,
        (error: Error) => error,
      );
      return { reset, next };
    });
    const { reset, next } = outcome.result;
    await expectServerUnharmed(target.port, outcome, `reset: ${reset?.message ?? 'RST_STREAM PROTOCOL_ERROR'}; next call: ${next?.message ?? 'ok'}`);
    if (reset !== null) throw reset;
    if (next !== null) throw next;
  }

  it('request trailers carrying a pseudo-header get RST_STREAM PROTOCOL_ERROR, then a good call on the same connection', async () => {
    await malformed((peer) => [
      ...peer.requestFrames(1, grpcRequestHeaders(), echoMessage('ping'), false),
      frames.headers(1, peer.encodeHeaders([':path', '/grpc.examples.echo.Echo/UnaryEcho']), { endStream: true }),
    ]);
  });

  it('a content-length larger than the DATA received gets RST_STREAM PROTOCOL_ERROR, then a good call on the same connection', async () => {
    const body = echoMessage('ping');
    await malformed((peer) => peer.requestFrames(1, grpcRequestHeaders(undefined, ['content-length', String(body.length + 100)]), body));
  });

  it('a content-length smaller than the DATA received gets RST_STREAM PROTOCOL_ERROR, then a good call on the same connection', async () => {
    const body = echoMessage('ping');
    await malformed((peer) => peer.requestFrames(1, grpcRequestHeaders(undefined, ['content-length', String(body.length - 3)]), body));
  });

  it('a content-length that matches the DATA is served', async () => {
    const target = await start();
    const peer = await target.connect();
    peer.sendPreface();
    const body = echoMessage('ping');
    peer.request(1, grpcRequestHeaders(undefined, ['content-length', String(body.length)]), body);
    const response = await peer.expectResponse(1);
    expect(response.grpcStatus, 'grpc-status').to.equal('0');
  });
});
