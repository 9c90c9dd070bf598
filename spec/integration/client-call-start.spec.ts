import { expect } from 'chai';
import { Status, type StatusObject } from '../../lib';
import { ourEchoClient } from '../support/client-peers';

/**
 * A call that fails as it starts (here: its deadline has already passed) reports on a later tick,
 * after the caller attached its listeners: an 'error' emitted synchronously would be unhandled.
 */
describe('our client: calls that fail as they start', () => {
  for (const [why, setUp, code] of [
    ['a deadline already past', () => ({ client: ourEchoClient(1), options: { deadline: Date.now() - 1 } }), Status.DEADLINE_EXCEEDED],
  ] as const) {
    it(`${why}: every call kind emits error and status after the call is returned`, async () => {
      const { client, options } = setUp();
      try {
        const unaryError = new Promise<{ code: number }>((resolve) => client.UnaryEcho({ message: 'x' }, options, (error: { code: number }) => resolve(error)));
        const clientStreamError = new Promise<{ code: number }>((resolve) => client.ClientStreamingEcho(options, (error: { code: number }) => resolve(error)));
        const serverStream = client.ServerStreamingEcho({ message: 'x' }, options);
        const bidi = client.BidirectionalStreamingEcho(options);
        // Listeners attached right after the call is made, as users attach them.
        const statuses = [serverStream, bidi].map(
          (call) =>
            new Promise<number[]>((resolve) => {
              let errorCode = -1;
              call.on('error', (error: { code: number }) => (errorCode = error.code));
              call.on('status', (status: StatusObject) => setImmediate(() => resolve([errorCode, status.code])));
            }),
        );
        expect((await unaryError).code).to.equal(code);
        expect((await clientStreamError).code).to.equal(code);
        expect(await Promise.all(statuses)).to.deep.equal([
          [code, code],
          [code, code],
        ]);
      } finally {
        client.close();
      }
    });
  }
});
