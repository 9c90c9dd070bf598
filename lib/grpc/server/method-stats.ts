import { errorCodeName, type Initiator } from '../../transport';
import { trace, tracing } from '../logging';
import { Status } from '../status';

/** Call counters of one method, or of a whole server (the sum over its methods). */
export interface CallCounters {
  /** Calls that reached the method's handler. */
  callsStarted: number;
  /** Calls that ended with OK. */
  callsSucceeded: number;
  /** Calls that ended with any other status (cancellations by the client included, as CANCELLED). */
  callsFailed: number;
  /** Failed calls by status name ("CANCELLED", "DEADLINE_EXCEEDED", ...; a code outside 1-16 by its number). */
  failedByCode: { [status: string]: number };
  /** Calls started and not yet ended. */
  activeCalls: number;
  /** Request messages received and their serialized bytes (before decompression). */
  messagesReceived: number;
  bytesReceived: number;
  /** Response messages sent and their serialized bytes (before compression). */
  messagesSent: number;
  bytesSent: number;
}

/** What `Server.callStats()` returns. */
export interface CallStatsSnapshot {
  /** Every method's counters added up. */
  total: CallCounters;
  /** Counters per registered method, by path ("/package.Service/Method"). */
  methods: { [path: string]: CallCounters };
}

const STATUS_COUNT = 17;

/**
 * The counters of one method (internal: Server.callStats() copies them): one object per registered method, incremented in place by its
 * calls (no allocation per call). Also where call tracing (`h2grpc_call`) happens, behind its flag.
 */
export class MethodStats {
  callsStarted = 0;
  callsEnded = 0;
  messagesReceived = 0;
  bytesReceived = 0;
  messagesSent = 0;
  bytesSent = 0;
  /** Calls ended, by status code (0-16); codes outside that range in `otherCodes`. */
  readonly byCode: number[] = new Array<number>(STATUS_COUNT).fill(0);
  otherCodes: Map<number, number> | null = null;

  constructor(readonly path: string) {}

  started(): void {
    this.callsStarted++;
    if (tracing.call) trace('h2grpc_call', `${this.path} started`);
  }

  messageReceived(bytes: number): void {
    this.messagesReceived++;
    this.bytesReceived += bytes;
  }

  messageSent(bytes: number): void {
    this.messagesSent++;
    this.bytesSent += bytes;
  }

  /** The call ended with `code` (sent, or CANCELLED when the client went away). */
  ended(code: number, details: string): void {
    this.callsEnded++;
    if (code >= 0 && code < STATUS_COUNT) this.byCode[code]++;
    else {
      if (this.otherCodes === null) this.otherCodes = new Map();
      this.otherCodes.set(code, (this.otherCodes.get(code) ?? 0) + 1);
    }
    if (tracing.call) trace('h2grpc_call', `${this.path} ended: ${Status[code] ?? code} (${code})${details === '' ? '' : ` "${details}"`}`);
  }

  /** The call's stream was reset; `running`: the call had not ended yet (it ends now, CANCELLED). */
  reset(errorCode: number, initiator: Initiator, running: boolean): void {
    if (tracing.call)
      trace('h2grpc_call', `${this.path} stream reset (${errorCodeName(errorCode)}, by ${initiator === 'remote' ? 'the client' : 'the server'})`);
    if (running) this.ended(Status.CANCELLED, 'stream reset');
  }

  /** A copy of the counters. */
  snapshot(): CallCounters {
    const failedByCode: { [status: string]: number } = {};
    for (let code = 1; code < STATUS_COUNT; code++) if (this.byCode[code] > 0) failedByCode[Status[code]] = this.byCode[code];
    if (this.otherCodes !== null) for (const [code, count] of this.otherCodes) failedByCode[String(code)] = count;
    const succeeded = this.byCode[Status.OK];
    return {
      callsStarted: this.callsStarted,
      callsSucceeded: succeeded,
      callsFailed: this.callsEnded - succeeded,
      failedByCode,
      activeCalls: this.callsStarted - this.callsEnded,
      messagesReceived: this.messagesReceived,
      bytesReceived: this.bytesReceived,
      messagesSent: this.messagesSent,
      bytesSent: this.bytesSent,
    };
  }
}

/** Per-method snapshots and their sum. */
export function snapshotCallStats(methods: Iterable<MethodStats>): CallStatsSnapshot {
  const total: CallCounters = {
    callsStarted: 0,
    callsSucceeded: 0,
    callsFailed: 0,
    failedByCode: {},
    activeCalls: 0,
    messagesReceived: 0,
    bytesReceived: 0,
    messagesSent: 0,
    bytesSent: 0,
  };
  const byPath: { [path: string]: CallCounters } = {};
  for (const stats of methods) {
    const counters = stats.snapshot();
    byPath[stats.path] = counters;
    total.callsStarted += counters.callsStarted;
    total.callsSucceeded += counters.callsSucceeded;
    total.callsFailed += counters.callsFailed;
    total.activeCalls += counters.activeCalls;
    total.messagesReceived += counters.messagesReceived;
    total.bytesReceived += counters.bytesReceived;
    total.messagesSent += counters.messagesSent;
    total.bytesSent += counters.bytesSent;
    for (const [name, count] of Object.entries(counters.failedByCode)) total.failedByCode[name] = (total.failedByCode[name] ?? 0) + count;
  }
  return { total, methods: byPath };
}
