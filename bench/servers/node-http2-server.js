'use strict';
// The ceiling: Echo over bare node:http2 (nghttp2 in C) with hand-written gRPC
// framing and no gRPC library. It still decodes each EchoRequest and encodes a
// fresh EchoResponse with protobufjs, exactly like the grpc-js-API handlers do,
// so the remaining gap to the gRPC servers is framework + transport overhead.
//
// Routes: UnaryEcho, ServerStreamingEcho (STREAM_COUNT copies, back-pressure
// aware) and BidirectionalStreamingEcho (echo each message as it arrives).

const http2 = require('node:http2');
const { loadMessageTypes, grpcFrame, METHOD_PATHS } = require('../lib/proto');
const { STREAM_COUNT } = require('./echo-handlers');
const { announce, exitOnShutdown, fail } = require('./lifecycle');

const { EchoRequest, EchoResponse } = loadMessageTypes();

const GRPC_OK = '0';
const GRPC_INTERNAL = '13';
const GRPC_UNIMPLEMENTED = '12';
const RESPONSE_HEADERS = { ':status': 200, 'content-type': 'application/grpc' };

/** Incremental parser for the 5-byte-prefixed gRPC message stream. */
class MessageReader {
  constructor() { this.pending = Buffer.alloc(0); }
  /** Feeds a chunk; returns the complete message payloads it finished. */
  push(chunk) {
    this.pending = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    const out = [];
    while (this.pending.length >= 5) {
      if (this.pending[0] !== 0) throw new Error('compressed messages not supported');
      const len = this.pending.readUInt32BE(1);
      if (this.pending.length < 5 + len) break;
      out.push(this.pending.subarray(5, 5 + len));
      this.pending = this.pending.subarray(5 + len);
    }
    return out;
  }
  get idle() { return this.pending.length === 0; }
}

/** EchoRequest payload -> framed EchoResponse with the same message. */
function echoFrame(payload) {
  const { message } = EchoRequest.decode(payload);
  return grpcFrame(Buffer.from(EchoResponse.encode({ message }).finish()));
}

/** Send headers now and grpc-status in trailers once the body has ended. */
function respondWithTrailers(stream, trailers = { 'grpc-status': GRPC_OK }) {
  stream.respond(RESPONSE_HEADERS, { waitForTrailers: true });
  stream.once('wantTrailers', () => stream.sendTrailers(trailers));
}

/** Trailers-only error response. */
function respondError(stream, code, message) {
  if (stream.destroyed || stream.headersSent) return stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR);
  stream.respond({ ...RESPONSE_HEADERS, 'grpc-status': code, 'grpc-message': encodeURIComponent(message) },
    { endStream: true });
}

/** Buffers the whole request body, then calls onMessages(list of payloads). */
function readUnaryRequest(stream, onMessages) {
  const reader = new MessageReader();
  const messages = [];
  stream.on('data', (chunk) => {
    try { messages.push(...reader.push(chunk)); } catch (err) { respondError(stream, GRPC_INTERNAL, err.message); }
  });
  stream.on('end', () => {
    if (stream.destroyed || stream.headersSent) return;
    if (messages.length !== 1 || !reader.idle) {
      return respondError(stream, GRPC_INTERNAL, `expected exactly one request message, got ${messages.length}`);
    }
    try { onMessages(messages); } catch (err) { respondError(stream, GRPC_INTERNAL, err.message); }
  });
}

function unaryEcho(stream) {
  readUnaryRequest(stream, ([payload]) => {
    const frame = echoFrame(payload);
    respondWithTrailers(stream);
    stream.end(frame);
  });
}

function serverStreamingEcho(stream) {
  readUnaryRequest(stream, ([payload]) => {
    const { message } = EchoRequest.decode(payload);
    respondWithTrailers(stream);
    let sent = 0;
    const pump = () => {
      while (sent < STREAM_COUNT) {
        if (stream.destroyed || stream.closed) return; // client cancelled
        sent++;
        // Encode per message, as the grpc-js-API handlers do via call.write().
        const frame = grpcFrame(Buffer.from(EchoResponse.encode({ message }).finish()));
        if (!stream.write(frame)) {
          stream.once('drain', pump);
          return;
        }
      }
      stream.end();
    };
    pump();
  });
}

function bidirectionalStreamingEcho(stream) {
  const reader = new MessageReader();
  respondWithTrailers(stream);
  stream.on('data', (chunk) => {
    try {
      for (const payload of reader.push(chunk)) stream.write(echoFrame(payload));
    } catch (err) {
      stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR);
    }
  });
  stream.on('end', () => { if (!stream.destroyed) stream.end(); });
}

const ROUTES = new Map([
  [METHOD_PATHS.unary, unaryEcho],
  [METHOD_PATHS.serverStreaming, serverStreamingEcho],
  [METHOD_PATHS.bidi, bidirectionalStreamingEcho],
]);

const server = http2.createServer();
server.on('sessionError', () => { /* client went away; nothing to do */ });
server.on('stream', (stream, headers) => {
  stream.on('error', () => { /* RST from a cancelled client */ });
  const contentType = headers['content-type'] || '';
  if (headers[':method'] !== 'POST' || !contentType.startsWith('application/grpc')) {
    stream.respond({ ':status': 415 }, { endStream: true });
    return;
  }
  const route = ROUTES.get(headers[':path']);
  if (!route) return respondError(stream, GRPC_UNIMPLEMENTED, `unknown method ${headers[':path']}`);
  route(stream);
});
server.on('error', fail);
server.listen(0, '127.0.0.1', () => announce(server.address().port));
exitOnShutdown(() => server.close());
