import { expect } from 'chai';
import { execFile } from 'node:child_process';
import * as path from 'node:path';
import * as grpcJs from '@grpc/grpc-js';
import * as h2grpc from '../../lib';
import type { Server } from '../../lib';
import { startInteropServer } from '../../examples/interop-server';
import { INTEROP_TEST_CASES, runInteropCase, type GrpcModule } from '../../examples/interop-client';
import { GRPC_JS_SERVER_SKIPS, startGrpcJsInteropServer } from '../support/grpc-js-interop-server';

/**
 * The interop client (examples/interop-client.ts) runs every standard case with our client, against
 * our interop server and a grpc-js TestService server; with @grpc/grpc-js as its gRPC module the
 * same cases check themselves.
 */
const clients: [string, GrpcModule][] = [
  ['our client', h2grpc as unknown as GrpcModule],
  ['@grpc/grpc-js client', grpcJs as unknown as GrpcModule],
];

for (const [clientName, grpc] of clients) {
  describe(`interop client cases (${clientName}) → our interop server`, () => {
    let server: Server;
    let port: number;
    before(async () => {
      ({ server, port } = await startInteropServer(0));
    });
    after(() => server.forceShutdown());

    for (const testCase of INTEROP_TEST_CASES) {
      it(testCase, () => runInteropCase(grpc, testCase, { serverHost: '127.0.0.1', serverPort: port }));
    }
  });

  describe(`interop client cases (${clientName}) → a grpc-js TestService server`, () => {
    let server: grpcJs.Server;
    let port: number;
    before(async () => {
      ({ server, port } = await startGrpcJsInteropServer());
    });
    after(() => server.forceShutdown());

    // grpc-js's server cannot see request compression (see GRPC_JS_SERVER_SKIPS).
    for (const testCase of INTEROP_TEST_CASES.filter((name) => !GRPC_JS_SERVER_SKIPS.includes(name))) {
      it(testCase, () => runInteropCase(grpc, testCase, { serverHost: '127.0.0.1', serverPort: port }));
    }
  });
}

describe('interop client command line', () => {
  function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    const script = path.join(__dirname, '..', '..', 'examples', 'interop-client.ts');
    return new Promise((resolve) => {
      execFile(process.execPath, ['-r', 'ts-node/register/transpile-only', script, ...args], (error, stdout, stderr) =>
        resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr }),
      );
    });
  }

  it('rejects an unknown test case with exit code 2 and names the known ones', async () => {
    const { code, stderr } = await run(['--test_case=no_such_case']);
    expect(code).to.equal(2);
    expect(stderr).to.contain('Unknown test case no_such_case').and.contain('large_unary');
  });

  it('fails with exit code 1 and the reason when the server is unreachable', async () => {
    // A port nothing listens on: bind one, note it, close it.
    const { server, port } = await startInteropServer(0);
    server.forceShutdown();
    const { code, stderr } = await run([`--server_port=${port}`, '--test_case=empty_unary']);
    expect(code).to.equal(1);
    expect(stderr).to.match(/empty_unary: FAIL: EmptyCall failed: 14 /); // UNAVAILABLE
  });
});
