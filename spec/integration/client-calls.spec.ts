import { expect } from 'chai';
import { Metadata, Status, type StatusObject } from '../../lib';
import { type AnyClient, callFailure, type EchoPeer, ourEchoClient, startGrpcJsEchoServer, startOurEchoServer, unaryCall } from '../support/client-peers';
import { collect, eventually } from '../support/waiting';

const BIG_LIMITS = { 'grpc.max_receive_message_length': 8 * 1024 * 1024, 'grpc.max_send_message_length': 8 * 1024 * 1024 };

for (const [name, start] of [
  ['our server', () => startOurEchoServer({ 'grpc.max_receive_message_length': 8 * 1024 * 1024, 'grpc.max_concurrent_streams': 100 })],
  ['a grpc-js server', () => startGrpcJsEchoServer({ 'grpc.max_receive_message_length': 8 * 1024 * 1024, 'grpc.max_concurrent_streams': 100 })],
] as const) {
  describe(`integration: our client → ${name}`, () => {
    let peer: EchoPeer;
    let client: AnyClient;

    before(async () => {
      peer = await start();
      client = ourEchoClient(peer.port, BIG_LIMITS);
    });
    after(async () => {
      client.close();
      await peer.stop();
    });

    it('unary: response, then metadata and status events', async () => {
      const events: string[] = [];
      const response = await new Promise<{ message: string }>((resolve, reject) => {
        const call = client.UnaryEcho({ message: 'hello' }, (error: Error | null, value: { message: string }) => (error ? reject(error) : resolve(value)));
        call.on('metadata', () => events.push('metadata'));
        call.on('status', (status: StatusObject) => events.push(`status ${status.code}`));
        expect(call.getPeer()).to.be.a('string');
      });
      expect(response).to.deep.equal({ message: 'hello' });
      await eventually(() => events.length === 2);
      expect(events).to.deep.equal(['metadata', 'status 0']);
    });

    it('server streaming: every message in order, then end and status OK', async () => {
      const call = client.ServerStreamingEcho({ message: 'repeat:5:abc' });
      let status: StatusObject | null = null;
      call.on('status', (value: StatusObject) => (status = value));
      const responses = await collect<{ message: string }>(call);
      expect(responses.map((response) => response.message)).to.deep.equal(['abc', 'abc', 'abc', 'abc', 'abc']);
      await eventually(() => status !== null);
      expect(status!.code).to.equal(Status.OK);
    });

    it('client streaming: all requests reach the server, one response', async () => {
      const response = await new Promise<{ message: string }>((resolve, reject) => {
        const call = client.ClientStreamingEcho((error: Error | null, value: { message: string }) => (error ? reject(error) : resolve(value)));
        for (const message of ['a', 'b', 'c']) call.write({ message });
        call.end();
      });
      expect(response.message).to.equal('a,b,c');
    });

    it('bidi: 10 000 messages each way, in order', async () => {
      const call = client.BidirectionalStreamingEcho();
      const done = collect<{ message: string }>(call);
      let sent = 0;
      const writeSome = (): void => {
        while (sent < 10_000) {
          if (!call.write({ message: `m${sent++}` })) {
            call.once('drain', writeSome);
            return;
          }
        }
        call.end();
      };
      writeSome();
      const responses = await done;
      expect(responses).to.have.length(10_000);
      expect(responses[9_999].message).to.equal('m9999');
      expect(responses.every((response, index) => response.message === `m${index}`)).to.equal(true);
    });

    it('metadata both ways, -bin included; trailers reach the status', async () => {
      const metadata = new Metadata();
      metadata.set('x-request', 'value-1');
      metadata.set('x-request-bin', Buffer.from([0, 1, 254, 255]));
      let headers: Metadata | null = null;
      let status: StatusObject | null = null;
      await new Promise<void>((resolve, reject) => {
        const call = client.UnaryEcho({ message: 'metadata' }, metadata, (error: Error | null) => (error ? reject(error) : resolve()));
        call.on('metadata', (value: Metadata) => (headers = value));
        call.on('status', (value: StatusObject) => (status = value));
      });
      expect(headers!.get('x-echo')).to.deep.equal(['value-1']);
      expect(headers!.get('x-echo-bin')).to.deep.equal([Buffer.from([0, 1, 254, 255])]);
      await eventually(() => status !== null);
      expect(status!.metadata.get('x-trailer')).to.deep.equal(['done']);
    });

    it('an error status: code, percent-decoded details, trailers and grpc-status-details-bin', async () => {
      const error = await callFailure(unaryCall(client, 'error'));
      expect(error.code).to.equal(Status.INVALID_ARGUMENT);
      expect(error.details).to.equal('bad ✓ request 100%');
      expect(error.message).to.contain('bad ✓ request 100%');
      expect(error.metadata.get('x-trailer')).to.deep.equal(['oops']);
      expect(error.metadata.get('grpc-status-details-bin')).to.deep.equal([Buffer.from([1, 2, 3])]);
    });

    it('a deadline ends the call with DEADLINE_EXCEEDED, and the server sees it cancelled', async () => {
      const cancelledBefore = peer.cancelled;
      const started = Date.now();
      const error = await callFailure(unaryCall(client, 'sleep', undefined, { deadline: Date.now() + 100 }));
      expect(error.code).to.equal(Status.DEADLINE_EXCEEDED);
      expect(Date.now() - started).to.be.lessThan(2000);
      await eventually(() => peer.cancelled > cancelledBefore);
    });

    it('cancel() ends the call with CANCELLED (on a later tick) and the server sees it cancelled', async () => {
      const cancelledBefore = peer.cancelled;
      let settled = false;
      let callbackInsideCancel: boolean | null = null;
      // The connection is up, so the cancelled call has reached the server (also when run alone).
      await unaryCall(client, 'warm');
      const error = await callFailure(
        new Promise((resolve, reject) => {
          const call = client.UnaryEcho({ message: 'sleep' }, (failure: Error | null, value: unknown) => (failure ? reject(failure) : resolve(value)));
          call.on('metadata', () => {});
          setImmediate(() => {
            call.cancel();
            // As grpc-js: the callback comes on a later tick, never inside cancel().
            callbackInsideCancel = settled;
          });
        }).finally(() => (settled = true)),
      );
      expect(callbackInsideCancel).to.equal(false);
      expect(error.code).to.equal(Status.CANCELLED);
      await eventually(() => peer.cancelled > cancelledBefore);
    });

    it('cancelling a server stream midway: an error with CANCELLED', async () => {
      const call = client.ServerStreamingEcho({ message: 'repeat:100000:x' });
      const error = await new Promise<{ code: number }>((resolve) => {
        let count = 0;
        call.on('data', () => {
          if (++count === 10) call.cancel();
        });
        call.on('error', resolve);
      });
      expect(error.code).to.equal(Status.CANCELLED);
    });

    for (const algorithm of [1, 2]) {
      it(`compression ${algorithm === 1 ? 'deflate' : 'gzip'}: a compressed request and its response`, async () => {
        const compressing = ourEchoClient(peer.port, { 'grpc.default_compression_algorithm': algorithm });
        try {
          const text = 'compress me '.repeat(1000);
          expect((await unaryCall(compressing, text)).message).to.equal(text);
          expect((await unaryCall(compressing, text)).message).to.equal(text);
        } finally {
          compressing.close();
        }
      });
    }

    it('a request over grpc.max_send_message_length fails RESOURCE_EXHAUSTED without reaching the server', async () => {
      const limited = ourEchoClient(peer.port, { 'grpc.max_send_message_length': 100 });
      try {
        const error = await callFailure(unaryCall(limited, 'z'.repeat(200)));
        expect(error.code).to.equal(Status.RESOURCE_EXHAUSTED);
        expect((await unaryCall(limited, 'small')).message).to.equal('small');
      } finally {
        limited.close();
      }
    });

    it('a response over grpc.max_receive_message_length fails RESOURCE_EXHAUSTED', async () => {
      const limited = ourEchoClient(peer.port, { 'grpc.max_receive_message_length': 1000 });
      try {
        const error = await callFailure(unaryCall(limited, 'big:5000'));
        expect(error.code).to.equal(Status.RESOURCE_EXHAUSTED);
      } finally {
        limited.close();
      }
    });

    it('4 MiB messages both ways', async () => {
      const big = 'q'.repeat(4 * 1024 * 1024);
      expect((await unaryCall(client, big)).message.length).to.equal(big.length);
      expect((await unaryCall(client, `big:${4 * 1024 * 1024}`)).message.length).to.equal(4 * 1024 * 1024);
    });

    it('1 000 concurrent calls over a limit of 100 streams: none refused', async () => {
      const results = await Promise.all(Array.from({ length: 1000 }, (_, index) => unaryCall(client, `c${index}`)));
      expect(results.every((result, index) => result.message === `c${index}`)).to.equal(true);
    });

    it('a paused reader resumes and gets every message', async () => {
      const call = client.ServerStreamingEcho({ message: `repeat:2000:${'p'.repeat(1000)}` });
      const received: unknown[] = [];
      let paused = false;
      call.on('data', (message: unknown) => {
        received.push(message);
        if (received.length === 1) {
          paused = true;
          call.pause();
          setImmediate(() => call.resume());
        }
      });
      await new Promise((resolve, reject) => {
        call.on('end', resolve);
        call.on('error', reject);
      });
      expect(paused).to.equal(true);
      expect(received).to.have.length(2000);
    });
  });
}
