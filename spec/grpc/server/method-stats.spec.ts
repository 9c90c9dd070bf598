import { expect } from 'chai';
import { Status, type Server } from '../../../lib';
import { MethodStats } from '../../../lib/grpc/server/method-stats';
import { expectError, grpcJsEchoClient, unary, type EchoClient } from '../../support/echo-client';
import { startEchoServer } from '../../support/echo-server';
import { collect, eventually } from '../../support/waiting';

const UNARY = '/grpc.examples.echo.Echo/UnaryEcho';
const SERVER_STREAM = '/grpc.examples.echo.Echo/ServerStreamingEcho';
const CLIENT_STREAM = '/grpc.examples.echo.Echo/ClientStreamingEcho';
const BIDI = '/grpc.examples.echo.Echo/BidirectionalStreamingEcho';

/** Serialized size of an EchoRequest/EchoResponse holding a short string (tag, length, bytes). */
const size = (text: string) => (text === '' ? 0 : 2 + Buffer.byteLength(text));

describe('Server.callStats()', () => {
  let server: Server;
  let port: number;
  let client: EchoClient;

  beforeEach(async () => {
    ({ server, port } = await startEchoServer({
      UnaryEcho(call: { request: { message: string } }, callback: (error: unknown, value?: unknown) => void) {
        if (call.request.message === 'fail') callback({ code: Status.INVALID_ARGUMENT, details: 'no' });
        else callback(null, { message: call.request.message });
      },
    }));
    client = grpcJsEchoClient(port);
  });
  afterEach(() => {
    client.close();
    server.forceShutdown();
  });

  it('starts at zero for every registered method', () => {
    const stats = server.callStats();
    expect(Object.keys(stats.methods)).to.have.members([UNARY, SERVER_STREAM, CLIENT_STREAM, BIDI]);
    expect(stats.total).to.deep.equal({
      callsStarted: 0,
      callsSucceeded: 0,
      callsFailed: 0,
      failedByCode: {},
      activeCalls: 0,
      messagesReceived: 0,
      bytesReceived: 0,
      messagesSent: 0,
      bytesSent: 0,
    });
  });

  it('counts unary calls, their outcome by status, messages and bytes each way', async () => {
    await unary(client, 'hello');
    await unary(client, 'hi');
    await expectError(unary(client, 'fail'));
    const stats = server.callStats().methods[UNARY];
    expect(stats).to.deep.equal({
      callsStarted: 3,
      callsSucceeded: 2,
      callsFailed: 1,
      failedByCode: { INVALID_ARGUMENT: 1 },
      activeCalls: 0,
      messagesReceived: 3,
      bytesReceived: size('hello') + size('hi') + size('fail'),
      messagesSent: 2,
      bytesSent: size('hello') + size('hi'),
    });
  });

  it('counts streaming messages and adds every method into the total', async () => {
    await collect(client.ServerStreamingEcho({ message: 'repeat:3:ab' }));
    await new Promise<void>((resolve, reject) => {
      const call = client.ClientStreamingEcho((error: Error | null) => (error ? reject(error) : resolve()));
      for (const message of ['a', 'b', 'c']) call.write({ message });
      call.end();
    });
    const { methods, total } = server.callStats();
    expect(methods[SERVER_STREAM]).to.include({ callsStarted: 1, callsSucceeded: 1, messagesReceived: 1, messagesSent: 3, bytesSent: 3 * size('ab') });
    expect(methods[CLIENT_STREAM]).to.include({ callsStarted: 1, callsSucceeded: 1, messagesReceived: 3, bytesReceived: 3 * size('a'), messagesSent: 1 });
    expect(total).to.include({ callsStarted: 2, callsSucceeded: 2, callsFailed: 0, messagesReceived: 4, messagesSent: 4 });
  });

  it('shows a running call as active, and a client cancel as CANCELLED', async () => {
    const call = client.BidirectionalStreamingEcho();
    call.on('error', () => {});
    const first = new Promise((resolve) => call.once('data', resolve));
    call.write({ message: 'x' });
    await first;
    expect(server.callStats().methods[BIDI]).to.include({ callsStarted: 1, activeCalls: 1, messagesReceived: 1, messagesSent: 1 });
    call.cancel();
    await eventually(() => server.callStats().methods[BIDI].activeCalls === 0);
    expect(server.callStats().methods[BIDI]).to.include({ callsFailed: 1 });
    expect(server.callStats().methods[BIDI].failedByCode).to.deep.equal({ CANCELLED: 1 });
  });

  it('names codes outside 0-16 by their number', () => {
    const stats = new MethodStats('/p.S/M');
    stats.started();
    stats.ended(42, 'custom');
    expect(stats.snapshot()).to.include({ callsFailed: 1, activeCalls: 0 });
    expect(stats.snapshot().failedByCode).to.deep.equal({ '42': 1 });
  });
});
