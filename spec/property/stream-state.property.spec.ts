import { expect } from 'chai';
import fc from 'fast-check';
import { afterLocalEnd, afterRemoteEnd, localCanSend, openedState, remoteCanSend, type StreamState } from '../../lib/transport/stream/stream-state';
import { ReceiveWindow } from '../../lib/transport/flow-control';
import { Http2Stream } from '../../lib/transport/stream/http2-stream';
import { ErrorCode } from '../../lib/transport/errors';
import { quietStreamHost } from '../support/stream-host';

type Event = 'localEnd' | 'remoteEnd' | 'reset';

/**
 * RFC 9113 §5.1 (no reserved states) as a reference model: the edges each event may take. A reset
 * (sent or received) closes any open or half-closed stream.
 */
const GRAPH: Record<StreamState, Record<Event, StreamState>> = {
  idle: { localEnd: 'idle', remoteEnd: 'idle', reset: 'closed' },
  open: { localEnd: 'halfClosedLocal', remoteEnd: 'halfClosedRemote', reset: 'closed' },
  halfClosedLocal: { localEnd: 'halfClosedLocal', remoteEnd: 'closed', reset: 'closed' },
  halfClosedRemote: { localEnd: 'closed', remoteEnd: 'halfClosedRemote', reset: 'closed' },
  closed: { localEnd: 'closed', remoteEnd: 'closed', reset: 'closed' },
};

/** The transitions §5.1's diagram draws (plus staying put), for checking each step. */
const ALLOWED_EDGES = new Set([
  'idle>open',
  'idle>halfClosedLocal',
  'idle>halfClosedRemote',
  'open>halfClosedLocal',
  'open>halfClosedRemote',
  'open>closed',
  'halfClosedLocal>closed',
  'halfClosedRemote>closed',
]);

const STATES: StreamState[] = ['idle', 'open', 'halfClosedLocal', 'halfClosedRemote', 'closed'];

function step(state: StreamState, event: Event): StreamState {
  switch (event) {
    case 'localEnd':
      return afterLocalEnd(state);
    case 'remoteEnd':
      return afterRemoteEnd(state);
    case 'reset':
      // A reset is not a function of stream-state.ts: the stream handle sets 'closed' itself.
      return 'closed';
  }
}

const eventArbitrary = fc.constantFrom<Event>('localEnd', 'remoteEnd', 'reset');
const openingArbitrary = fc.record({ endStream: fc.boolean(), by: fc.constantFrom<'local' | 'remote'>('local', 'remote') });

describe('stream state (RFC 9113 §5.1, property)', () => {
  it('any sequence of END_STREAMs and resets after opening follows the §5.1 graph', () => {
    fc.assert(
      fc.property(openingArbitrary, fc.array(eventArbitrary, { maxLength: 12 }), (opening, events) => {
        let state = openedState(opening.endStream, opening.by);
        expect(ALLOWED_EDGES.has(`idle>${state}`), `opened into ${state}`).to.equal(true);
        for (const event of events) {
          const next = step(state, event);
          expect(next, `${state} --${event}-->`).to.equal(GRAPH[state][event]);
          if (next !== state) expect(ALLOWED_EDGES.has(`${state}>${next}`), `${state} -> ${next}`).to.equal(true);
          state = next;
        }
      }),
      { numRuns: 500 },
    );
  });

  it('closed is absorbing: once closed, nothing leaves it', () => {
    fc.assert(
      fc.property(fc.array(eventArbitrary, { maxLength: 20 }), (events) => {
        let state: StreamState = 'closed';
        for (const event of events) state = step(state, event);
        expect(state).to.equal('closed');
      }),
    );
  });

  it('both END_STREAMs, in either order and with repeats, close the stream; one side alone never does', () => {
    fc.assert(
      fc.property(openingArbitrary, fc.array(fc.constantFrom<Event>('localEnd', 'remoteEnd'), { maxLength: 12 }), (opening, events) => {
        let state = openedState(opening.endStream, opening.by);
        let localEnded = opening.endStream && opening.by === 'local';
        let remoteEnded = opening.endStream && opening.by === 'remote';
        for (const event of events) {
          state = step(state, event);
          if (event === 'localEnd') localEnded = true;
          else remoteEnded = true;
          expect(state === 'closed').to.equal(localEnded && remoteEnded);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('remoteCanSend and localCanSend agree with the state after any sequence', () => {
    fc.assert(
      fc.property(openingArbitrary, fc.array(eventArbitrary, { maxLength: 12 }), (opening, events) => {
        let state = openedState(opening.endStream, opening.by);
        let localEnded = opening.endStream && opening.by === 'local';
        let remoteEnded = opening.endStream && opening.by === 'remote';
        let reset = false;
        for (const event of events) {
          state = step(state, event);
          if (event === 'localEnd') localEnded = true;
          else if (event === 'remoteEnd') remoteEnded = true;
          else reset = true;
          // The peer may send while it has not ended and nobody reset; the same for us.
          expect(remoteCanSend(state), `remoteCanSend(${state})`).to.equal(!remoteEnded && !reset);
          expect(localCanSend(state), `localCanSend(${state})`).to.equal(!localEnded && !reset);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('the predicates on every state: idle and closed allow no sending in either direction', () => {
    const table = STATES.map((state) => [state, localCanSend(state), remoteCanSend(state)]);
    expect(table).to.deep.equal([
      ['idle', false, false],
      ['open', true, true],
      ['halfClosedLocal', false, true],
      ['halfClosedRemote', true, false],
      ['closed', false, false],
    ]);
  });

  it('END_STREAM events leave idle alone (only HEADERS open a stream)', () => {
    expect(afterLocalEnd('idle')).to.equal('idle');
    expect(afterRemoteEnd('idle')).to.equal('idle');
  });
});

type HandleEvent = 'sendEnd' | 'endWritten' | 'receiveEnd' | 'reset' | 'receiveReset' | 'pause' | 'resume';

describe('stream state through the Http2Stream handle (property)', () => {
  it('END_STREAMs, resets and pauses in any order keep the handle on the §5.1 graph; closed is reported once and absorbing', () => {
    const events = fc.array(fc.constantFrom<HandleEvent>('sendEnd', 'endWritten', 'receiveEnd', 'reset', 'receiveReset', 'pause', 'resume'), { maxLength: 14 });
    fc.assert(
      fc.property(openingArbitrary, events, (opening, sequence) => {
        let closedReports = 0;
        const host = quietStreamHost({ streamClosed: () => void closedReports++ });
        // Opened the way the connection opens streams: ours with sendHeaders(), the peer's with
        // its END_STREAM delivered through receiveEnd().
        const local = opening.by === 'local';
        const stream = new Http2Stream(1, host, new ReceiveWindow(65535), 1 << 20, {
          state: openedState(local ? false : opening.endStream, opening.by),
          headers: [],
          by: opening.by,
        });
        let endSeen = false;
        stream.setListener({ onData: () => {}, onTrailers: () => {}, onEnd: () => void (endSeen = true), onReset: () => {}, onDrain: () => {} });
        if (local) stream.sendHeaders([], opening.endStream);
        else if (opening.endStream) stream.receiveEnd(null);
        let endQueued = opening.endStream && opening.by === 'local';
        for (const event of sequence) {
          const before = stream.state;
          switch (event) {
            case 'sendEnd':
              // The upper layer may end only a writable stream (end() throws otherwise).
              if (stream.localEnded || !localCanSend(stream.state)) continue;
              stream.end();
              endQueued = true;
              break;
            case 'endWritten':
              // The writer reports END_STREAM written only after it was queued.
              if (!endQueued) continue;
              stream.onEndWritten();
              break;
            case 'receiveEnd':
              // The reader loop delivers END_STREAM only while the peer may still send.
              if (!remoteCanSend(stream.state) || stream.remoteEnded) continue;
              stream.receiveEnd(null);
              break;
            case 'reset':
              stream.reset();
              break;
            case 'receiveReset':
              stream.receiveReset(8, 'remote');
              break;
            case 'pause':
              stream.pause();
              break;
            case 'resume':
              stream.resume();
              break;
          }
          const after = stream.state;
          if (after !== before) expect(ALLOWED_EDGES.has(`${before}>${after}`), `${before} --${event}--> ${after}`).to.equal(true);
          if (before === 'closed') expect(after).to.equal('closed');
          // Reported closed once, when closed and nothing is left to deliver (reset, or the end delivered).
          const reportable = after === 'closed' && (stream.isAborted || endSeen);
          expect(closedReports, `streamClosed reports in ${after}`).to.equal(reportable ? 1 : 0);
        }
      }),
      { numRuns: 1000 },
    );
  });
});

describe('stream lifecycle as data: inbound/outbound sub-states and the close cause (property)', () => {
  it('agree with the §5.1 state and with what happened, after any sequence of events', () => {
    const events = fc.array(fc.constantFrom<HandleEvent>('sendEnd', 'endWritten', 'receiveEnd', 'reset', 'receiveReset', 'pause', 'resume'), { maxLength: 14 });
    fc.assert(
      fc.property(openingArbitrary, events, fc.boolean(), (opening, sequence, detachAtEnd) => {
        const local = opening.by === 'local';
        const stream = new Http2Stream(1, quietStreamHost(), new ReceiveWindow(65535), 1 << 20, {
          state: openedState(local ? false : opening.endStream, opening.by),
          headers: [],
          by: opening.by,
        });
        stream.setListener({ onData: () => {}, onTrailers: () => {}, onEnd: () => {}, onReset: () => {}, onDrain: () => {} });
        if (local) stream.sendHeaders([], opening.endStream);
        else if (opening.endStream) stream.receiveEnd(null);
        // The model: what each side did, and the first thing that closed the stream.
        let endReceived = !local && opening.endStream;
        let endQueued = local && opening.endStream;
        let endWritten = false;
        let expectedCause: string | null = null;
        let expectedCode = 0;
        for (const event of sequence) {
          const wasClosed = stream.state === 'closed';
          switch (event) {
            case 'sendEnd':
              if (stream.localEnded || !localCanSend(stream.state)) continue;
              stream.end();
              endQueued = true;
              break;
            case 'endWritten':
              if (!endQueued || endWritten || wasClosed) continue;
              stream.onEndWritten();
              endWritten = true;
              // A stream the peer opened and still sends on is reset with NO_ERROR after our end (RFC 9113 §8.1).
              if (!local && !endReceived) [expectedCause, expectedCode] = ['resetByLibrary', ErrorCode.NO_ERROR];
              else if (endReceived) expectedCause = 'endStream';
              break;
            case 'receiveEnd':
              if (!remoteCanSend(stream.state) || stream.remoteEnded) continue;
              stream.receiveEnd(null);
              endReceived = true;
              if (endWritten) expectedCause = 'endStream';
              break;
            case 'reset':
              stream.reset(ErrorCode.INTERNAL_ERROR);
              if (!wasClosed) [expectedCause, expectedCode] = ['resetByUser', ErrorCode.INTERNAL_ERROR];
              break;
            case 'receiveReset': {
              // A stream closed by both END_STREAMs whose end still waits to be delivered (paused)
              // can still be lost: the listener hears the reset instead of an end it never got.
              const undelivered = stream.inbound === 'ended';
              stream.receiveReset(ErrorCode.CANCEL, 'remote');
              if (!wasClosed || undelivered) [expectedCause, expectedCode] = ['resetByRemote', ErrorCode.CANCEL];
              break;
            }
            case 'pause':
              stream.pause();
              break;
            case 'resume':
              stream.resume();
              break;
          }
          const { state, inbound, outbound, closeCause } = stream;
          const where = `after ${event}: ${state} in=${inbound} out=${outbound} cause=${closeCause}`;
          // Closed exactly when there is a cause, and the cause is the first thing that closed it.
          expect(state === 'closed', where).to.equal(closeCause !== null);
          expect(closeCause, where).to.equal(expectedCause);
          expect(stream.resetCode, where).to.equal(closeCause === 'endStream' || closeCause === null ? 0 : expectedCode);
          expect(stream.isAborted, where).to.equal(closeCause !== null && closeCause !== 'endStream');
          // Each direction: open exactly while the RFC state lets that side send and nothing ended it.
          expect(inbound === 'open', where).to.equal(remoteCanSend(state));
          expect(outbound === 'open' || outbound === 'ending', where).to.equal(localCanSend(state));
          expect(stream.remoteEnded, where).to.equal(endReceived);
          expect(outbound === 'ended', where).to.equal(endWritten);
          // A reset before an END_STREAM leaves that direction 'reset'; after it, 'done' / 'ended'.
          if (stream.isAborted) {
            expect(inbound, where).to.equal(endReceived ? 'done' : 'reset');
            expect(outbound, where).to.equal(endWritten ? 'ended' : 'reset');
          }
          // Closed by both END_STREAMs: ours written, the peer's received (delivered, or waiting for a resume()).
          if (closeCause === 'endStream') expect([inbound === 'done' || inbound === 'ended', outbound], where).to.deep.equal([true, 'ended']);
          if (inbound === 'ended') expect(stream.isPaused, `${where}: an END_STREAM waits only while paused`).to.equal(true);
        }
        // Detaching hands off the input: an END_STREAM already received counts as delivered.
        if (detachAtEnd) {
          stream.detach();
          if (stream.inbound !== 'open' && stream.inbound !== 'reset') expect(stream.inbound).to.equal('done');
        }
      }),
      { numRuns: 1000 },
    );
  });
});
