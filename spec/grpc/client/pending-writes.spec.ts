import { expect } from 'chai';
import { PendingWrites, type WriteTarget } from '../../../lib/grpc/client/pending-writes';

/** A call core seen from its writer: logs what it gets; `room` says whether sendMessage takes more. */
class FakeCore implements WriteTarget {
  isDone = false;
  room = true;
  constructor(private readonly log: string[]) {}
  sendMessage(message: unknown): boolean {
    this.log.push(`core:send ${String(message)}`);
    return this.room;
  }
  halfClose(): void {
    this.log.push('core:halfClose');
  }
}

/** A fresh PendingWrites with its log and a core (not attached yet) in the given state. */
function setup(core: Partial<Pick<FakeCore, 'isDone' | 'room'>> = {}): { log: string[]; core: FakeCore; writes: PendingWrites } {
  const log: string[] = [];
  return { log, core: Object.assign(new FakeCore(log), core), writes: new PendingWrites() };
}

describe('PendingWrites (writes made before a client call has its core)', () => {
  it('keeps messages and the half-close made before attach() and replays them in order, each callback after its message', () => {
    const { log, core, writes } = setup();
    writes.send({ callback: () => log.push('done a') }, 'a');
    writes.send({}, 'b');
    writes.send({ callback: () => log.push('done c') }, 'c');
    writes.halfClose();
    expect(log).to.deep.equal([]);
    writes.attach(core);
    expect(log).to.deep.equal(['core:send a', 'done a', 'core:send b', 'core:send c', 'done c', 'core:halfClose']);
  });

  it('after attach(), writes go straight to the core and nothing is queued', () => {
    const { log, core, writes } = setup();
    writes.attach(core);
    writes.send({ callback: () => log.push('done x') }, 'x');
    writes.halfClose();
    expect(log).to.deep.equal(['core:send x', 'done x', 'core:halfClose']);
    expect(writes['queued']).to.equal(null);
  });

  it('a write the core asks to wait for runs its callback on drain(), once', () => {
    const { log, core, writes } = setup({ room: false });
    writes.attach(core);
    writes.send({ callback: () => log.push('done x') }, 'x');
    expect(log).to.deep.equal(['core:send x']);
    writes.drain();
    writes.drain();
    expect(log).to.deep.equal(['core:send x', 'done x']);
  });

  it('a replayed write the core asks to wait for also waits for drain()', () => {
    const { log, core, writes } = setup({ room: false });
    writes.send({ callback: () => log.push('done a') }, 'a');
    writes.halfClose();
    writes.attach(core);
    expect(log).to.deep.equal(['core:send a', 'core:halfClose']);
    writes.drain();
    expect(log).to.deep.equal(['core:send a', 'core:halfClose', 'done a']);
  });

  it('several replayed writes the core asks to wait for all run their callbacks on drain(), in order', () => {
    const { log, core, writes } = setup({ room: false });
    writes.send({ callback: () => log.push('done a') }, 'a');
    writes.send({ callback: () => log.push('done b') }, 'b');
    writes.send({ callback: () => log.push('done c') }, 'c');
    writes.attach(core);
    expect(log).to.deep.equal(['core:send a', 'core:send b', 'core:send c']);
    writes.drain();
    writes.drain();
    expect(log).to.deep.equal(['core:send a', 'core:send b', 'core:send c', 'done a', 'done b', 'done c']);
  });

  it('once the core is done, a write is not sent and its callback runs at once', () => {
    const { log, core, writes } = setup({ isDone: true });
    writes.attach(core);
    writes.send({ callback: () => log.push('done x') }, 'x');
    expect(log).to.deep.equal(['done x']);
  });

  it('a write made from a replayed callback goes to the core at once, ahead of the rest of the replay', () => {
    const { log, core, writes } = setup();
    writes.send({ callback: () => writes.send({}, 'from callback') }, 'a');
    writes.halfClose();
    writes.attach(core);
    expect(log).to.deep.equal(['core:send a', 'core:send from callback', 'core:halfClose']);
  });

  it('discard() (the call ended before it had a core) drops queued and later writes without running their callbacks', () => {
    const { log, core, writes } = setup();
    writes.send({ callback: () => log.push('done a') }, 'a');
    writes.halfClose();
    writes.discard();
    writes.send({ callback: () => log.push('done b') }, 'b');
    writes.halfClose();
    writes.drain();
    expect(writes['queued']).to.equal(null);
    // Nothing is replayed even if a core came after all.
    writes.attach(core);
    expect(log).to.deep.equal([]);
  });
});
