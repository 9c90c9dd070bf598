import { type Http2Stream, type StreamHost } from '../../lib/transport/stream/http2-stream';

/**
 * A StreamHost that does nothing but what a stream needs to work on its own: writes are always
 * within budget and drains are delivered at once. `overrides` replaces members (e.g. a counter).
 */
export function quietStreamHost(overrides: Partial<StreamHost> = {}): StreamHost {
  return {
    put: () => true,
    consumed: () => {},
    streamClosed: () => {},
    queuedBytesChanged: () => {},
    streamReleased: () => {},
    exemptFromDataRate: () => {},
    maxSendHeaderListSize: Infinity,
    spendWrite: () => true,
    queueDrain: (stream: Http2Stream) => stream.deliverDrain(),
    ...overrides,
  };
}
