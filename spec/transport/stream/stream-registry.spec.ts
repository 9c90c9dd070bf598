import { expect } from 'chai';
import { CLIENT_PEER, SERVER_PEER } from '../../../lib/transport/connection/peer';
import { ReceiveWindow } from '../../../lib/transport/flow-control';
import { Http2Stream } from '../../../lib/transport/stream/http2-stream';
import { quietStreamHost } from '../../support/stream-host';
import { StreamRegistry } from '../../../lib/transport/stream/stream-registry';

const host = quietStreamHost();

function stream(id: number): Http2Stream {
  return new Http2Stream(id, host, new ReceiveWindow(65535), 1024, { state: 'open', headers: [], by: 'remote' });
}

describe('StreamRegistry', () => {
  describe('ids and parity', () => {
    it("a server allocates even ids from 2 and treats odd ids as the peer's (RFC 9113 §5.1.1)", () => {
      const registry = new StreamRegistry(SERVER_PEER);
      expect([registry.allocateLocalId(), registry.allocateLocalId(), registry.allocateLocalId()]).to.deep.equal([2, 4, 6]);
      expect(registry.nextLocalStreamId).to.equal(8);
      expect(registry.isPeerInitiated(1)).to.equal(true);
      expect(registry.isPeerInitiated(7)).to.equal(true);
      expect(registry.isPeerInitiated(2)).to.equal(false);
    });

    it("a client allocates odd ids from 1 and treats even ids as the peer's", () => {
      const registry = new StreamRegistry(CLIENT_PEER);
      expect([registry.allocateLocalId(), registry.allocateLocalId()]).to.deep.equal([1, 3]);
      expect(registry.isPeerInitiated(2)).to.equal(true);
      expect(registry.isPeerInitiated(3)).to.equal(false);
    });
  });

  describe('idle streams', () => {
    it('every peer id is idle before the peer opens anything; ids at or below the last one are not', () => {
      const registry = new StreamRegistry(SERVER_PEER);
      expect(registry.isIdlePeerStream(1)).to.equal(true);
      expect(registry.isIdlePeerStream(99)).to.equal(true);
      registry.openedByPeer(5);
      expect(registry.lastPeerStreamId).to.equal(5);
      expect(registry.isIdlePeerStream(1)).to.equal(false);
      expect(registry.isIdlePeerStream(5)).to.equal(false);
      expect(registry.isIdlePeerStream(7)).to.equal(true);
      // A local-side id is never an idle *peer* stream.
      expect(registry.isIdlePeerStream(8)).to.equal(false);
    });

    it('local ids are idle until allocated; peer ids never count as idle local streams', () => {
      const registry = new StreamRegistry(CLIENT_PEER);
      expect(registry.isIdleLocalStream(1)).to.equal(true);
      expect(registry.allocateLocalId()).to.equal(1);
      expect(registry.isIdleLocalStream(1)).to.equal(false);
      expect(registry.isIdleLocalStream(3)).to.equal(true);
      expect(registry.isIdleLocalStream(2)).to.equal(false);
      expect(registry.isIdleLocalStream(4)).to.equal(false);
    });
  });

  describe('openedByPeer and wasOpenedByPeer', () => {
    it('ids opened in order were all opened', () => {
      const registry = new StreamRegistry(SERVER_PEER);
      for (const id of [1, 3, 5]) registry.openedByPeer(id);
      expect([1, 3, 5].map((id) => registry.wasOpenedByPeer(id))).to.deep.equal([true, true, true]);
      expect(registry.wasOpenedByPeer(7)).to.equal(false);
    });

    it('ids the peer jumped over were never opened (closed by skipping, RFC 9113 §5.1.1)', () => {
      const registry = new StreamRegistry(SERVER_PEER);
      registry.openedByPeer(1);
      registry.openedByPeer(9);
      registry.openedByPeer(11);
      registry.openedByPeer(17);
      expect([1, 3, 5, 7, 9, 11, 13, 15, 17].map((id) => registry.wasOpenedByPeer(id))).to.deep.equal([
        true,
        false,
        false,
        false,
        true,
        true,
        false,
        false,
        true,
      ]);
    });

    it("a first id above the peer's first id skips the ids below it", () => {
      const server = new StreamRegistry(SERVER_PEER);
      server.openedByPeer(5);
      expect([1, 3, 5].map((id) => server.wasOpenedByPeer(id))).to.deep.equal([false, false, true]);
      const client = new StreamRegistry(CLIENT_PEER);
      client.openedByPeer(6);
      expect([2, 4, 6].map((id) => client.wasOpenedByPeer(id))).to.deep.equal([false, false, true]);
    });

    it('remembers only the latest 64 skipped ranges: older skipped ids read as opened (bounded memory)', () => {
      const registry = new StreamRegistry(SERVER_PEER);
      // Open 3, 7, 11, ...: each open skips exactly one id (1, 5, 9, ...).
      for (let index = 0; index < 65; index++) registry.openedByPeer(3 + 4 * index);
      expect(registry.wasOpenedByPeer(1)).to.equal(true);
      expect(registry.wasOpenedByPeer(5)).to.equal(false);
      expect(registry.wasOpenedByPeer(1 + 4 * 64)).to.equal(false);
    });
  });

  describe('registered streams', () => {
    it('add, get, size, values and remove', () => {
      const registry = new StreamRegistry(SERVER_PEER);
      const one = stream(1);
      const three = stream(3);
      registry.add(one);
      registry.add(three);
      expect(registry.size).to.equal(2);
      expect(registry.get(1)).to.equal(one);
      expect([...registry.values()]).to.deep.equal([one, three]);
      expect(registry.remove(one)).to.equal(true);
      expect(registry.remove(one)).to.equal(false);
      expect(registry.get(1)).to.equal(undefined);
      expect(registry.size).to.equal(1);
    });

    it('remove() of a different stream object with the same id leaves the registered one alone', () => {
      const registry = new StreamRegistry(SERVER_PEER);
      const registered = stream(1);
      registry.add(registered);
      expect(registry.remove(stream(1))).to.equal(false);
      expect(registry.get(1)).to.equal(registered);
    });

    it('removing an aborted stream remembers it as reset; a cleanly closed one is not', () => {
      const registry = new StreamRegistry(SERVER_PEER);
      const reset = stream(1);
      const clean = stream(3);
      registry.add(reset);
      registry.add(clean);
      reset.reset();
      clean.state = 'closed';
      registry.remove(reset);
      registry.remove(clean);
      expect(registry.wasRecentlyReset(1)).to.equal(true);
      expect(registry.wasRecentlyReset(3)).to.equal(false);
    });
  });

  describe('recently reset memory', () => {
    it('holds the latest 1024 ids and evicts the oldest first', () => {
      const registry = new StreamRegistry(SERVER_PEER);
      for (let index = 0; index < 1024; index++) registry.rememberReset(1 + 2 * index);
      expect(registry.wasRecentlyReset(1)).to.equal(true);
      expect(registry.wasRecentlyReset(1 + 2 * 1023)).to.equal(true);
      registry.rememberReset(1 + 2 * 1024);
      expect(registry.wasRecentlyReset(1)).to.equal(false);
      expect(registry.wasRecentlyReset(3)).to.equal(true);
      expect(registry.wasRecentlyReset(1 + 2 * 1024)).to.equal(true);
      registry.rememberReset(1 + 2 * 1025);
      expect(registry.wasRecentlyReset(3)).to.equal(false);
      expect(registry.wasRecentlyReset(5)).to.equal(true);
    });

    it('remembering the same id twice does not evict anything', () => {
      const registry = new StreamRegistry(SERVER_PEER);
      for (let index = 0; index < 1024; index++) registry.rememberReset(1 + 2 * index);
      registry.rememberReset(1 + 2 * 1023);
      expect(registry.wasRecentlyReset(1)).to.equal(true);
    });
  });
});
