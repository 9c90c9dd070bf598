import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = join(__dirname, '..', '..');
const tsc = join(root, 'node_modules', '.bin', 'tsc');

/** What a Connect user writes: a router served beside gRPC on our Server, and alone on a connection; client transports. */
const USE = `import type { ConnectRouter, Transport } from '@connectrpc/connect';
import type { UniversalClientFn } from '@connectrpc/connect/protocol';
import { Channel, credentials, Server } from 'h2grpc';
import {
  addConnectRouter,
  compressionGzip,
  connectH2grpcAdapter,
  createConnectTransport,
  createGrpcTransport,
  createGrpcWebTransport,
  createHttpClient,
  type ConnectH2grpcAdapter,
  type H2grpcTransport,
} from 'h2grpc/connect';
import type { Http2Connection } from 'h2grpc/transport';

const routes = (router: ConnectRouter): void => void router;
export const beside: ConnectH2grpcAdapter = addConnectRouter(new Server(), { routes, acceptCompression: [compressionGzip], readMaxBytes: 1024 });
export function alone(connection: Http2Connection): readonly string[] {
  const adapter = connectH2grpcAdapter({ routes, requestPathPrefix: '/api', onError: (error: unknown, path: string) => void [error, path] });
  adapter.serve(connection);
  return adapter.paths;
}

// Connect clients on h2grpc's client channel.
export const grpcTransport: H2grpcTransport = createGrpcTransport({ baseUrl: 'http://localhost:8080', channelOptions: { 'grpc.keepalive_time_ms': 1000 } });
export const onChannel: Transport = createConnectTransport({ channel: new Channel('localhost:8080', credentials.createInsecure()), useHttpGet: true });
export const web = createGrpcWebTransport({ baseUrl: 'https://example.com/api', interceptors: [], waitForReady: true });
export const httpClient: UniversalClientFn = createHttpClient(grpcTransport.channel, { waitForReady: true });
export const stats: number = grpcTransport.channel.connectionStats().length;
`;

/** Wrong on purpose: reported only if 'h2grpc/connect' resolved to its real types. */
const WRONG = `import { connectH2grpcAdapter } from 'h2grpc/connect';
export const wrong: number = connectH2grpcAdapter({ routes: () => {} });
`;

function typecheck(project: string): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile(tsc, ['--noEmit', '-p', project], { cwd: root }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
      resolve({ code, output: `${stdout}${stderr}` });
    });
  });
}

/** A consumer project with h2grpc, @connectrpc/connect, @bufbuild/protobuf and @types/node installed (symlinks). */
function fixture(directory: string, compilerOptions: Record<string, string>, source: string): void {
  mkdirSync(join(directory, 'src'), { recursive: true });
  for (const scope of ['@types', '@connectrpc', '@bufbuild']) mkdirSync(join(directory, 'node_modules', scope), { recursive: true });
  symlinkSync(root, join(directory, 'node_modules', 'h2grpc'), 'dir');
  for (const name of ['@types/node', '@connectrpc/connect', '@bufbuild/protobuf'])
    symlinkSync(join(root, 'node_modules', name), join(directory, 'node_modules', name), 'dir');
  writeFileSync(join(directory, 'package.json'), JSON.stringify({ name: 'consumer', private: true }));
  const options = { ...compilerOptions, target: 'ES2022', lib: ['ES2022'], strict: true, skipLibCheck: true, types: ['node'], noEmit: true };
  writeFileSync(join(directory, 'tsconfig.json'), JSON.stringify({ compilerOptions: options, include: ['src'] }));
  writeFileSync(join(directory, 'src', 'use.ts'), source);
}

describe('h2grpc/connect typings in consumer projects (tsc over dist/)', function () {
  this.timeout(60_000);
  let temp: string;

  before(() => {
    temp = mkdtempSync(join(tmpdir(), 'h2grpc-connect-types-'));
  });
  after(() => rmSync(temp, { recursive: true, force: true }));

  it('commonjs-node and node16 projects type-check a Connect router on h2grpc', async () => {
    fixture(join(temp, 'commonjs-node'), { module: 'commonjs', moduleResolution: 'node' }, USE);
    fixture(join(temp, 'node16'), { module: 'node16', moduleResolution: 'node16' }, USE);
    const outcomes = await Promise.all([typecheck(join(temp, 'commonjs-node')), typecheck(join(temp, 'node16'))]);
    expect(outcomes).to.deep.equal([
      { code: 0, output: '' },
      { code: 0, output: '' },
    ]);
  });

  it('the check can fail: a deliberate type error is reported, not a missing module', async () => {
    fixture(join(temp, 'wrong'), { module: 'commonjs', moduleResolution: 'node' }, WRONG);
    const outcome = await typecheck(join(temp, 'wrong'));
    expect(outcome.code).to.equal(2);
    expect(outcome.output).to.match(/use\.ts\(2,14\): error TS2322: Type 'ConnectH2grpcAdapter' is not assignable to type 'number'/);
    expect(outcome.output).not.to.contain('TS2307');
  });
});
