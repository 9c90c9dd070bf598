import { expect } from 'chai';
import * as path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { Server, ServerCredentials } from '../../lib';

/**
 * Issue acceptance: "A handler written for @grpc/grpc-js runs unchanged". The RouteGuide handlers
 * in spec/fixtures/route_guide_handlers.js are plain grpc-js code (the shape of grpc-node's
 * route_guide example); the same module serves on a @grpc/grpc-js Server and on ours, the same
 * grpc-js client code calls both, and the results must be identical.
 */

// A plain CommonJS module written for grpc-js, required as any grpc-js user would.
const routeGuideHandlers = require('../fixtures/route_guide_handlers') as {
  FEATURES: Feature[];
  getServiceHandlers(): grpc.UntypedServiceImplementation;
};

const ROUTE_GUIDE_PROTO = path.join(__dirname, '..', 'fixtures', 'route_guide.proto');
// The proto-loader options of grpc-node's route_guide example.
const definition = protoLoader.loadSync(ROUTE_GUIDE_PROTO, { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true });
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const routeguide = (grpc.loadPackageDefinition(definition) as any).routeguide;

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type RouteGuideClient = grpc.Client & Record<string, (...args: any[]) => any>;

interface Point {
  latitude: number;
  longitude: number;
}
interface Feature {
  name: string;
  location: Point;
}
interface RouteNote {
  location: Point;
  message: string;
}
interface RouteSummary {
  point_count: number;
  feature_count: number;
  distance: number;
  elapsed_time: number;
}
interface Outcome<T> {
  value?: T;
  code: number;
  details: string;
}

const CALL_TIMEOUT_MS = 10_000;
function options(): grpc.CallOptions {
  return { deadline: Date.now() + CALL_TIMEOUT_MS };
}

function getFeature(client: RouteGuideClient, point: Point): Promise<Outcome<Feature>> {
  return new Promise((resolve) => {
    let value: Feature | undefined;
    const call = client.getFeature(point, options(), (_error: grpc.ServiceError | null, feature: Feature) => (value = feature));
    call.on('status', (status: grpc.StatusObject) => resolve({ value, code: status.code, details: status.details }));
  });
}

function listFeatures(client: RouteGuideClient, rectangle: { lo: Point; hi: Point }): Promise<Outcome<Feature[]>> {
  return new Promise((resolve) => {
    const features: Feature[] = [];
    const call = client.listFeatures(rectangle, options());
    call.on('data', (feature: Feature) => features.push(feature));
    call.on('error', () => {});
    call.on('status', (status: grpc.StatusObject) => resolve({ value: features, code: status.code, details: status.details }));
  });
}

function recordRoute(client: RouteGuideClient, points: Point[]): Promise<Outcome<RouteSummary>> {
  return new Promise((resolve) => {
    let value: RouteSummary | undefined;
    const call = client.recordRoute(options(), (_error: grpc.ServiceError | null, summary: RouteSummary) => (value = summary));
    call.on('status', (status: grpc.StatusObject) => resolve({ value, code: status.code, details: status.details }));
    for (const point of points) call.write(point);
    call.end();
  });
}

function routeChat(client: RouteGuideClient, notes: RouteNote[]): Promise<Outcome<RouteNote[]>> {
  return new Promise((resolve) => {
    const received: RouteNote[] = [];
    const call = client.routeChat(options());
    call.on('data', (note: RouteNote) => received.push(note));
    call.on('error', () => {});
    call.on('status', (status: grpc.StatusObject) => resolve({ value: received, code: status.code, details: status.details }));
    for (const note of notes) call.write(note);
    call.end();
  });
}

const [patriots, whippany, shohola, kingston, unnamed] = routeGuideHandlers.FEATURES.map((feature) => feature.location);
const nowhere: Point = { latitude: 0, longitude: 0 };

interface Results {
  knownFeature: Outcome<Feature>;
  unnamedFeature: Outcome<Feature>;
  noFeature: Outcome<Feature>;
  listed: Outcome<Feature[]>;
  listedNone: Outcome<Feature[]>;
  route: Outcome<RouteSummary>;
  emptyRoute: Outcome<RouteSummary>;
  chat: Outcome<RouteNote[]>;
}

/** The same client code against either server: every method, in the example client's spirit. */
async function exercise(port: number): Promise<Results> {
  const client = new routeguide.RouteGuide(`127.0.0.1:${port}`, grpc.credentials.createInsecure()) as RouteGuideClient;
  try {
    return {
      knownFeature: await getFeature(client, patriots),
      unnamedFeature: await getFeature(client, unnamed),
      noFeature: await getFeature(client, nowhere),
      listed: await listFeatures(client, { lo: { latitude: 400000000, longitude: -750000000 }, hi: { latitude: 420000000, longitude: -730000000 } }),
      listedNone: await listFeatures(client, { lo: nowhere, hi: { latitude: 1, longitude: 1 } }),
      route: await recordRoute(client, [patriots, whippany, nowhere, shohola, kingston, unnamed]),
      emptyRoute: await recordRoute(client, []),
      chat: await routeChat(client, [
        { location: { latitude: 0, longitude: 1 }, message: 'First message' },
        { location: { latitude: 0, longitude: 2 }, message: 'Second message' },
        { location: { latitude: 0, longitude: 1 }, message: 'Third message' },
        { location: { latitude: 0, longitude: 2 }, message: 'Fourth message' },
        { location: { latitude: 0, longitude: 1 }, message: 'Fifth message' },
      ]),
    };
  } finally {
    client.close();
  }
}

describe('grpc-js compatibility: the same grpc-js RouteGuide handler module on @grpc/grpc-js and on our Server', () => {
  let grpcJsServer: grpc.Server | undefined;
  let ourServer: Server | undefined;
  let reference: Results;
  let ours: Results;

  before(async () => {
    grpcJsServer = new grpc.Server();
    grpcJsServer.addService(routeguide.RouteGuide.service, routeGuideHandlers.getServiceHandlers());
    const grpcJsPort = await new Promise<number>((resolve, reject) =>
      grpcJsServer!.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, port) => (error ? reject(error) : resolve(port))),
    );
    ourServer = new Server();
    ourServer.addService(routeguide.RouteGuide.service, routeGuideHandlers.getServiceHandlers());
    const ourPort = await new Promise<number>((resolve, reject) =>
      ourServer!.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (error, port) => (error ? reject(error) : resolve(port))),
    );
    // Each server runs the client sequence once (RouteChat keeps notes per server).
    reference = await exercise(grpcJsPort);
    ours = await exercise(ourPort);
  });
  after(() => {
    grpcJsServer?.forceShutdown();
    ourServer?.forceShutdown();
  });

  /** The responses and status codes of every call (what the handlers decide). */
  function answers(results: Results): Record<string, { value: unknown; code: number }> {
    return Object.fromEntries(Object.entries(results).map(([name, outcome]) => [name, { value: outcome.value, code: outcome.code }]));
  }

  it("A handler written for @grpc/grpc-js (copy the shape of grpc-js's own examples) runs unchanged", () => {
    expect(answers(ours)).to.deep.equal(answers(reference));
  });

  it('successful calls end with grpc-message "OK", as on grpc-js', () => {
    // Still a constant, pre-encoded trailer block.
    for (const results of [ours, reference]) {
      for (const outcome of Object.values(results)) if (outcome.code === grpc.status.OK) expect(outcome.details).to.equal('OK');
    }
  });

  it('the results are the route guide answers (so the comparison is not vacuous)', () => {
    for (const results of [reference, ours]) {
      expect(results.knownFeature).to.include({ code: grpc.status.OK });
      expect(results.knownFeature.value).to.deep.equal(routeGuideHandlers.FEATURES[0]);
      expect(results.unnamedFeature.value).to.deep.equal({ name: '', location: unnamed });
      expect(results.noFeature.value).to.deep.equal({ name: '', location: nowhere });
      expect(results.listed.code).to.equal(grpc.status.OK);
      expect(results.listed.value!.map((feature) => feature.name)).to.deep.equal(routeGuideHandlers.FEATURES.slice(0, 4).map((feature) => feature.name));
      expect(results.listedNone).to.include({ code: grpc.status.OK });
      expect(results.listedNone.value).to.deep.equal([]);
      expect(results.route.code).to.equal(grpc.status.OK);
      expect(results.route.value).to.include({ point_count: 6, feature_count: 4 });
      expect(results.route.value!.distance).to.be.greaterThan(0);
      expect(results.emptyRoute.value).to.deep.equal({ point_count: 0, feature_count: 0, distance: 0, elapsed_time: 0 });
      expect(results.chat.code).to.equal(grpc.status.OK);
      // Each note is answered with the earlier notes at its location.
      expect(results.chat.value!.map((note) => note.message)).to.deep.equal(['First message', 'Second message', 'First message', 'Third message']);
    }
  });
});

describe("grpc-js compatibility: handlers that use @grpc/grpc-js's own Metadata", () => {
  // Echo handlers as a grpc-js user writes them: Metadata comes from require('@grpc/grpc-js').
  const implementation: grpc.UntypedServiceImplementation = {
    UnaryEcho(call: grpc.ServerUnaryCall<{ message: string }, unknown>, callback: grpc.sendUnaryData<unknown>) {
      const headers = new grpc.Metadata();
      headers.set('x-initial', 'hello');
      call.sendMetadata(headers);
      const trailer = new grpc.Metadata();
      trailer.set('x-trailer', 'bye');
      if (call.request.message === 'fail') callback({ code: grpc.status.NOT_FOUND, details: 'not here', metadata: trailer });
      else callback(null, { message: call.request.message }, trailer);
    },
    ServerStreamingEcho(call: grpc.ServerWritableStream<{ message: string }, unknown>) {
      const trailer = new grpc.Metadata();
      trailer.set('x-stream-trailer', 'done');
      call.write({ message: call.request.message });
      call.end(trailer);
    },
  };

  interface MetadataOutcome {
    value: unknown;
    code: number;
    details?: string;
    headers?: Record<string, unknown>;
    trailers: Record<string, unknown>;
  }

  /** The custom (x-…) entries of received metadata. */
  function custom(metadata: grpc.Metadata): Record<string, unknown> {
    return Object.fromEntries(Object.entries(metadata.getMap()).filter(([key]) => key.startsWith('x-')));
  }

  function record(call: grpc.ClientUnaryCall | grpc.ClientReadableStream<unknown>, values: unknown[], resolve: (outcome: MetadataOutcome) => void): void {
    let headers: Record<string, unknown> | undefined;
    call.on('metadata', (metadata: grpc.Metadata) => (headers = custom(metadata)));
    call.on('status', (status: grpc.StatusObject) =>
      resolve({
        value: values,
        code: status.code,
        // grpc-js ends successful calls with details "OK" (see the RouteGuide case above); compared only for errors here.
        ...(status.code === grpc.status.OK ? {} : { details: status.details }),
        headers,
        trailers: custom(status.metadata),
      }),
    );
  }

  async function exerciseEcho(port: number): Promise<MetadataOutcome[]> {
    const client = new echoPackage.grpc.examples.echo.Echo(`127.0.0.1:${port}`, grpc.credentials.createInsecure()) as RouteGuideClient;
    const deadline = () => ({ deadline: Date.now() + 3000 });
    try {
      const unaryCall = (message: string) =>
        new Promise<MetadataOutcome>((resolve) => {
          const values: unknown[] = [];
          const call = client.UnaryEcho({ message }, deadline(), (_error: unknown, value: unknown) => value !== undefined && values.push(value));
          record(call, values, resolve);
        });
      const streamingCall = (message: string) =>
        new Promise<MetadataOutcome>((resolve) => {
          const values: unknown[] = [];
          const call = client.ServerStreamingEcho({ message }, deadline());
          call.on('data', (value: unknown) => values.push(value));
          call.on('error', () => {});
          record(call, values, resolve);
        });
      return [await unaryCall('hi'), await unaryCall('fail'), await streamingCall('stream')];
    } finally {
      client.close();
    }
  }

  const echoDefinition = protoLoader.loadSync(path.join(__dirname, '..', '..', 'protos', 'echo.proto'), { keepCase: true, defaults: true });
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const echoPackage = grpc.loadPackageDefinition(echoDefinition) as any;
  let grpcJsServer: grpc.Server | undefined;
  let ourServer: Server | undefined;
  let reference: MetadataOutcome[];
  let ours: MetadataOutcome[];

  before(async () => {
    grpcJsServer = new grpc.Server();
    grpcJsServer.addService(echoPackage.grpc.examples.echo.Echo.service, implementation);
    const grpcJsPort = await new Promise<number>((resolve, reject) =>
      grpcJsServer!.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, port) => (error ? reject(error) : resolve(port))),
    );
    ourServer = new Server();
    ourServer.addService(echoPackage.grpc.examples.echo.Echo.service, implementation);
    const ourPort = await new Promise<number>((resolve, reject) =>
      ourServer!.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (error, port) => (error ? reject(error) : resolve(port))),
    );
    reference = await exerciseEcho(grpcJsPort);
    ours = await exerciseEcho(ourPort);
  });
  after(() => {
    grpcJsServer?.forceShutdown();
    ourServer?.forceShutdown();
  });

  it('the reference behaviour: headers, trailers and error status as sent by the handler', () => {
    expect(reference[0]).to.deep.include({ code: grpc.status.OK, headers: { 'x-initial': 'hello' }, trailers: { 'x-trailer': 'bye' } });
    expect(reference[1]).to.deep.include({ code: grpc.status.NOT_FOUND, details: 'not here', trailers: { 'x-trailer': 'bye' } });
    expect(reference[2]).to.deep.include({ code: grpc.status.OK, trailers: { 'x-stream-trailer': 'done' } });
  });

  it('sendMetadata, callback trailers, error metadata and end(trailers) with grpc-js Metadata work unchanged', () => {
    expect(ours).to.deep.equal(reference);
  });
});
