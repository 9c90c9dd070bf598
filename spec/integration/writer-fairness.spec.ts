/**
 * One fast reader of a long server stream must not starve the event loop. On loopback the
 * socket accepts every write at once and reports 'drain' on the next tick, and a handler refills
 * its stream on every drain: without the writer's own yield (every 256 KiB) a 27 MB stream to
 * h2load (a separate process that reads as fast as we write) ran ~0.5 s with no timer firing.
 */
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { Server } from '../../lib';
import { startEchoServer } from '../support/echo-server';
import { echoMessage } from '../support/echo-request';

function h2load(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => execFile('h2load', args, { timeout: 30_000 }, (error, stdout) => (error ? reject(error) : resolve(stdout))));
}

describe('integration: the writer gives the event loop turns during a long stream to a fast reader', function () {
  let server: Server;
  let port: number;
  let directory: string;

  before(async function () {
    const installed = await h2load(['--version']).then(
      () => true,
      () => false,
    );
    if (!installed) {
      console.warn('h2load is not installed (Debian package nghttp2-client): skipping the writer fairness spec');
      this.skip();
    }
    ({ server, port } = await startEchoServer());
    directory = mkdtempSync(join(tmpdir(), 'h2grpc-fair-'));
  });
  after(() => {
    server?.forceShutdown();
    if (directory !== undefined) rmSync(directory, { recursive: true, force: true });
  });

  it('timers keep firing while 300 000 messages (27 MB) stream to h2load with 1 GiB windows', async () => {
    const body = join(directory, 'request.bin');
    writeFileSync(body, echoMessage(`repeat:300000:${'x'.repeat(90)}`));
    const lag = monitorEventLoopDelay({ resolution: 5 });
    lag.enable();
    let turns = 0;
    let timer = setTimeout(function tick() {
      turns++;
      timer = setTimeout(tick, 1);
    }, 1);
    let report: string;
    try {
      report = await h2load([
        '-n',
        '1',
        '-c',
        '1',
        '-w',
        '30',
        '-W',
        '30',
        '-d',
        body,
        '-H',
        'content-type: application/grpc',
        '-H',
        'te: trailers',
        `http://127.0.0.1:${port}/grpc.examples.echo.Echo/ServerStreamingEcho`,
      ]);
    } finally {
      clearTimeout(timer);
      lag.disable();
    }
    expect(report).to.match(/1 succeeded/);
    expect(Number(/traffic: \S+ \((\d+)\) total/.exec(report)?.[1])).to.be.above(27_000_000);
    // Before the yield: 8-14 turns over the whole stream (only before and after it).
    expect(turns, `timer turns during the stream (max lag ${(lag.max / 1e6).toFixed(0)} ms)`).to.be.at.least(40);
  });
});
