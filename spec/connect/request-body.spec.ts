import { expect } from 'chai';
import { Code, ConnectError } from '@connectrpc/connect';
import { RequestBody } from '../../lib/connect/request-body';
import type { Http2Stream } from '../../lib/transport';

/** The two calls RequestBody makes on its stream, counted; resume() may deliver synchronously. */
class FakeStream {
  paused = false;
  pauses = 0;
  resumes = 0;
  onResume: (() => void) | null = null;
  pause(): void {
    this.paused = true;
    this.pauses++;
  }
  resume(): void {
    this.resumes++;
    if (!this.paused) return;
    this.paused = false;
    this.onResume?.();
  }
}

function bodyOn(): { stream: FakeStream; body: RequestBody } {
  const stream = new FakeStream();
  return { stream, body: new RequestBody(stream as unknown as Http2Stream) };
}

describe('connect/request-body', () => {
  it('a chunk nobody waits for is kept and pauses the stream; the next read takes it and resumes', async () => {
    const { stream, body } = bodyOn();
    body.onData(Buffer.from('one'));
    expect(stream.paused).to.equal(true);
    const first = await body.next();
    expect(Buffer.from(first.value as Uint8Array).toString()).to.equal('one');
    expect(stream.paused).to.equal(false);
  });

  it('a waiting read gets the chunk directly, without pausing', async () => {
    const { stream, body } = bodyOn();
    const pending = body.next();
    body.onData(Buffer.from('two'));
    expect(stream.pauses).to.equal(0);
    expect(Buffer.from((await pending).value as Uint8Array).toString()).to.equal('two');
  });

  it('a chunk delivered by resume() inside next() is kept for the following read', async () => {
    const { stream, body } = bodyOn();
    body.onData(Buffer.from('a'));
    stream.onResume = () => body.onData(Buffer.from('b'));
    expect(Buffer.from((await body.next()).value as Uint8Array).toString()).to.equal('a');
    expect(stream.paused).to.equal(true);
    stream.onResume = null;
    expect(Buffer.from((await body.next()).value as Uint8Array).toString()).to.equal('b');
  });

  it('ends after the last chunk', async () => {
    const { body } = bodyOn();
    const pending = body.next();
    body.onEnd();
    expect((await pending).done).to.equal(true);
    expect((await body.next()).done).to.equal(true);
  });

  it('a reset rejects the waiting read and every later one with the reason', async () => {
    const { body } = bodyOn();
    const pending = body.next();
    const reason = new ConnectError('gone', Code.Canceled);
    body.onReset(reason);
    expect(
      await pending.then(
        () => null,
        (error: unknown) => error,
      ),
    ).to.equal(reason);
    expect(
      await body.next().then(
        () => null,
        (error: unknown) => error,
      ),
    ).to.equal(reason);
  });

  it('return() drops the kept chunk and later input, and lets the stream flow again', async () => {
    const { stream, body } = bodyOn();
    body.onData(Buffer.from('kept'));
    expect((await body.return()).done).to.equal(true);
    expect(stream.paused).to.equal(false);
    body.onData(Buffer.from('dropped'));
    expect(stream.paused).to.equal(false);
    expect((await body.next()).done).to.equal(true);
  });

  it('refuses a second read while one waits', async () => {
    const { body } = bodyOn();
    void body.next();
    const error = await body.next().then(
      () => null,
      (failure: Error) => failure,
    );
    expect(error?.message).to.equal('request body read concurrently');
  });

  it('is its own async iterator', async () => {
    const { body } = bodyOn();
    body.onData(Buffer.from('x'));
    const chunks: string[] = [];
    const reading = (async () => {
      for await (const chunk of body) chunks.push(Buffer.from(chunk).toString());
    })();
    await new Promise((resolve) => setImmediate(resolve));
    body.onData(Buffer.from('y'));
    body.onEnd();
    await reading;
    expect(chunks).to.deep.equal(['x', 'y']);
  });
});
