import * as grpcJs from '@grpc/grpc-js';
import { expect } from 'chai';
import * as h2grpc from '../../lib';
import {
  InterceptingCall,
  InterceptorConfigurationError,
  ListenerBuilder,
  Metadata,
  RequesterBuilder,
  Status,
  type Interceptor,
  type StatusObject,
} from '../../lib';
import { type AnyClient, callFailure, echoDefinition, EchoClient, type EchoPeer, ourEchoClient, startOurEchoServer, unaryCall } from '../support/client-peers';
import { collect } from '../support/waiting';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const GrpcJsEcho = (grpcJs.loadPackageDefinition(echoDefinition) as any).grpc.examples.echo.Echo;

/** An interceptor that logs every outgoing and incoming event, built with either library's classes. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
function loggingInterceptor(log: string[], Call: any): Interceptor {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  return (options: any, nextCall: any) =>
    new Call(nextCall(options), {
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      start(metadata: any, _listener: any, next: any) {
        log.push(`start ${options.method_definition.path.split('/')[2]} ${String(metadata.get('x-request')[0] ?? '')}`);
        next(metadata, {
          // eslint-disable-next-line @typescript-eslint/no-explicit-any
          onReceiveMetadata(received: any, nextMetadata: any) {
            log.push('metadata in');
            nextMetadata(received);
          },
          // eslint-disable-next-line @typescript-eslint/no-explicit-any
          onReceiveMessage(message: any, nextMessage: any) {
            log.push(`message in ${message?.message}`);
            nextMessage(message);
          },
          onReceiveStatus(status: StatusObject, nextStatus: (status: StatusObject) => void) {
            log.push(`status in ${status.code}`);
            nextStatus(status);
          },
        });
      },
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      sendMessage(message: any, next: any) {
        log.push(`message out ${message.message}`);
        next(message);
      },
      halfClose(next: () => void) {
        log.push('half-close');
        next();
      },
    });
}

/** The four call kinds, driven the same way on either library's client; resolves with what came back. */
async function allKinds(client: AnyClient): Promise<string[]> {
  const results: string[] = [];
  const metadata = new Metadata();
  metadata.set('x-request', 'r');
  results.push(
    await new Promise<string>((resolve, reject) =>
      client.UnaryEcho({ message: 'one' }, metadata, (error: Error | null, value: { message: string }) => (error ? reject(error) : resolve(value.message))),
    ),
  );
  const server = await collect<{ message: string }>(client.ServerStreamingEcho({ message: 'repeat:2:s' }));
  results.push(server.map((value) => value.message).join('|'));
  results.push(
    await new Promise<string>((resolve, reject) => {
      const call = client.ClientStreamingEcho((error: Error | null, value: { message: string }) => (error ? reject(error) : resolve(value.message)));
      call.write({ message: 'a' });
      call.write({ message: 'b' });
      call.end();
    }),
  );
  const bidi = client.BidirectionalStreamingEcho();
  const done = collect<{ message: string }>(bidi);
  bidi.write({ message: 'x' });
  bidi.write({ message: 'y' });
  bidi.end();
  results.push((await done).map((value) => value.message).join('|'));
  return results;
}

describe('integration: client interceptors (grpc-js API)', () => {
  let peer: EchoPeer;
  const clients: { close(): void }[] = [];

  before(async () => {
    peer = await startOurEchoServer();
  });
  afterEach(() => {
    for (const client of clients.splice(0)) client.close();
  });
  after(async () => {
    await peer.stop();
  });

  function client(options: h2grpc.ClientOptions = {}): AnyClient {
    const made = ourEchoClient(peer.port, options);
    clients.push(made);
    return made;
  }

  it('a metadata-adding interceptor: the server sees the header, the caller the response', async () => {
    const addHeader: Interceptor = (options, nextCall) =>
      new InterceptingCall(nextCall(options), {
        start(metadata, listener, next) {
          metadata.set('x-request', 'from-interceptor');
          next(metadata, listener);
        },
      });
    const headers: Metadata[] = [];
    const echo = client({ interceptors: [addHeader] });
    const response = await new Promise<{ message: string }>((resolve, reject) => {
      const call = echo.UnaryEcho({ message: 'metadata' }, (error: Error | null, value: { message: string }) => (error ? reject(error) : resolve(value)));
      call.on('metadata', (metadata: Metadata) => headers.push(metadata));
    });
    expect(response.message).to.equal('metadata');
    expect(headers[0].get('x-echo')).to.deep.equal(['from-interceptor']);
  });

  it('a logging interceptor sees every event of the four call kinds in the same order as with grpc-js', async () => {
    const ours: string[] = [];
    const theirs: string[] = [];
    const ourClient = client({ interceptors: [loggingInterceptor(ours, h2grpc.InterceptingCall)] });
    const grpcJsClient = new GrpcJsEcho(`127.0.0.1:${peer.port}`, grpcJs.credentials.createInsecure(), {
      interceptors: [loggingInterceptor(theirs, grpcJs.InterceptingCall)],
    });
    clients.push(grpcJsClient);
    const ourResults = await allKinds(ourClient);
    const theirResults = await allKinds(grpcJsClient);
    expect(ourResults).to.deep.equal(['one', 's|s', 'a,b', 'x|y']);
    expect(theirResults).to.deep.equal(ourResults);
    expect(ours).to.deep.equal(theirs);
    expect(ours.slice(0, 6)).to.deep.equal(['start UnaryEcho r', 'message out one', 'half-close', 'metadata in', 'message in one', 'status in 0']);
    expect(ours.filter((event) => event.startsWith('start'))).to.have.length(4);
  });

  it('an interceptor that answers with a status: the call never reaches the server', async () => {
    let reached = 0;
    const counting: Interceptor = (options, nextCall) =>
      new InterceptingCall(nextCall(options), {
        start(metadata, listener, next) {
          reached++;
          next(metadata, listener);
        },
      });
    const deny: Interceptor = (options, nextCall) =>
      new InterceptingCall(nextCall(options), {
        start(_metadata, listener) {
          setImmediate(() => listener.onReceiveStatus({ code: Status.PERMISSION_DENIED, details: 'denied here', metadata: new Metadata() }));
        },
        sendMessage() {},
        halfClose() {},
      });
    const echo = client({ interceptors: [deny, counting] });
    const error = await callFailure(unaryCall(echo, 'hello'));
    expect(error.code).to.equal(Status.PERMISSION_DENIED);
    expect(error.details).to.equal('denied here');
    expect(reached).to.equal(0);
    const stream = echo.ServerStreamingEcho({ message: 'repeat:3:x' });
    const streamError = await new Promise<h2grpc.GrpcError>((resolve) => stream.on('error', resolve));
    expect(streamError.code).to.equal(Status.PERMISSION_DENIED);
  });

  it('several interceptors: requests pass them first to last, responses last to first', async () => {
    const order: string[] = [];
    const named =
      (name: string): Interceptor =>
      (options, nextCall) =>
        new InterceptingCall(
          nextCall(options),
          new RequesterBuilder()
            .withStart((metadata, _listener, next) => {
              order.push(`${name} start`);
              next(
                metadata,
                new ListenerBuilder()
                  .withOnReceiveMessage((message, nextMessage) => {
                    order.push(`${name} message`);
                    nextMessage({ message: `${message.message}+${name}` });
                  })
                  .build(),
              );
            })
            .withSendMessage((message, next) => {
              order.push(`${name} send`);
              next({ message: `${message.message}>${name}` });
            })
            .build(),
        );
    const echo = client({ interceptor_providers: [() => named('A'), () => named('B')] });
    const response = await unaryCall(echo, 'm');
    expect(response.message).to.equal('m>A>B+B+A');
    expect(order).to.deep.equal(['A start', 'B start', 'A send', 'B send', 'B message', 'A message']);
  });

  it("a call's own interceptors replace the client's; both kinds at once are a configuration error", async () => {
    const log: string[] = [];
    const tag =
      (name: string): Interceptor =>
      (options, nextCall) =>
        new InterceptingCall(nextCall(options), {
          start(metadata, listener, next) {
            log.push(name);
            next(metadata, listener);
          },
        });
    const echo = client({ interceptors: [tag('client')] });
    await unaryCall(echo, 'a');
    await unaryCall(echo, 'b', undefined, { interceptors: [tag('call')] });
    expect(log).to.deep.equal(['client', 'call']);
    expect(() => echo.UnaryEcho({ message: 'x' }, new Metadata(), { interceptors: [tag('x')], interceptor_providers: [() => tag('y')] }, () => {})).to.throw(
      InterceptorConfigurationError,
    );
    expect(
      () =>
        new EchoClient(`127.0.0.1:${peer.port}`, h2grpc.credentials.createInsecure(), { interceptors: [tag('x')], interceptor_providers: [() => tag('y')] }),
    ).to.throw(InterceptorConfigurationError);
  });

  it('a grpc-node style retry interceptor retries a failing call until it succeeds', async () => {
    const flaky = new h2grpc.Server();
    let attempts = 0;
    flaky.addService(EchoClient.service, {
      UnaryEcho(call: h2grpc.ServerUnaryCall<{ message: string }, unknown>, callback: h2grpc.sendUnaryData<{ message: string }>) {
        attempts++;
        if (attempts < 3) callback({ code: Status.UNAVAILABLE, details: `attempt ${attempts}` });
        else callback(null, { message: `${call.request.message} after ${attempts}` });
      },
    });
    const port = await flaky.listen(0);
    try {
      const maxRetries = 3;
      // The retry interceptor of grpc-node's doc/client-interceptors example, unchanged but typed.
      const retry: Interceptor = (options, nextCall) => {
        let savedMetadata: Metadata;
        let savedSendMessage: unknown;
        let savedReceiveMessage: unknown;
        let savedMessageNext: (message: unknown) => void;
        const requester = {
          start(metadata: Metadata, _listener: unknown, next: (metadata: Metadata, listener: h2grpc.Listener) => void) {
            savedMetadata = metadata;
            const newListener: h2grpc.Listener = {
              onReceiveMessage(message, nextMessage) {
                savedReceiveMessage = message;
                savedMessageNext = nextMessage;
              },
              onReceiveStatus(status, nextStatus) {
                let retries = 0;
                const retryCall = (message: unknown, metadata: Metadata): void => {
                  retries++;
                  const newCall = nextCall(options);
                  newCall.start(metadata, {
                    onReceiveMessage(received: unknown) {
                      savedReceiveMessage = received;
                    },
                    onReceiveStatus(retryStatus: StatusObject) {
                      if (retryStatus.code !== Status.OK) {
                        if (retries <= maxRetries) retryCall(message, metadata);
                        else {
                          savedMessageNext(savedReceiveMessage);
                          nextStatus(retryStatus);
                        }
                      } else {
                        savedMessageNext(savedReceiveMessage);
                        nextStatus({ code: Status.OK, details: '', metadata: new Metadata() });
                      }
                    },
                  });
                  newCall.sendMessage(message);
                  newCall.halfClose();
                };
                if (status.code !== Status.OK) retryCall(savedSendMessage, savedMetadata);
                else {
                  savedMessageNext(savedReceiveMessage);
                  nextStatus(status);
                }
              },
            };
            next(metadata, newListener);
          },
          sendMessage(message: unknown, next: (message: unknown) => void) {
            savedSendMessage = message;
            next(message);
          },
        };
        return new InterceptingCall(nextCall(options), requester);
      };
      const echo = new EchoClient(`127.0.0.1:${port}`, h2grpc.credentials.createInsecure(), { interceptors: [retry] }) as AnyClient;
      clients.push(echo);
      const response = await unaryCall(echo, 'hi');
      expect(response.message).to.equal('hi after 3');
      expect(attempts).to.equal(3);
    } finally {
      flaky.forceShutdown();
    }
  });

  it('an interceptor that starts the call later (an async token fetch): messages and the half-close wait for it, in order', async () => {
    const slowStart: Interceptor = (options, nextCall) =>
      new InterceptingCall(nextCall(options), {
        start(metadata, listener, next) {
          setTimeout(() => {
            metadata.set('x-request', 'late');
            next(metadata, listener);
          }, 20);
        },
      });
    const echo = client({ interceptors: [slowStart] });
    const joined = await new Promise<{ message: string }>((resolve, reject) => {
      const call = echo.ClientStreamingEcho((error: Error | null, value: { message: string }) => (error ? reject(error) : resolve(value)));
      for (const message of ['a', 'b', 'c', 'd']) call.write({ message });
      call.end();
    });
    expect(joined.message).to.equal('a,b,c,d');
    const bidi = echo.BidirectionalStreamingEcho();
    const done = collect<{ message: string }>(bidi);
    for (let index = 0; index < 50; index++) bidi.write({ message: `m${index}` });
    bidi.end();
    expect((await done).map((value) => value.message)).to.deep.equal(Array.from({ length: 50 }, (_, index) => `m${index}`));
    expect((await unaryCall(echo, 'one')).message).to.equal('one');
  });

  it('flow control and cancellation pass through a chain: a 2000-message bidi call and a cancelled stream', async () => {
    const echo = client({ interceptors: [(options, nextCall) => new InterceptingCall(nextCall(options))] });
    const call = echo.BidirectionalStreamingEcho();
    const done = collect<{ message: string }>(call);
    let sent = 0;
    const writeSome = (): void => {
      while (sent < 2000) {
        if (!call.write({ message: `m${sent++}` })) {
          call.once('drain', writeSome);
          return;
        }
      }
      call.end();
    };
    writeSome();
    const received = await done;
    expect(received).to.have.length(2000);
    expect(received[1999].message).to.equal('m1999');
    const sleeper = echo.UnaryEcho({ message: 'sleep' }, (error: h2grpc.GrpcError | null) => {
      expect(error?.code).to.equal(Status.CANCELLED);
    });
    const status = new Promise<StatusObject>((resolve) => sleeper.on('status', resolve));
    sleeper.cancel();
    expect((await status).code).to.equal(Status.CANCELLED);
  });
});
