'use strict';
// The Echo handlers shared by every grpc-js-API server (ours and grpc-js), so
// both run literally the same application code. The raw node:http2 server
// mirrors this logic by hand (servers/node-http2-server.js).

/** Copies sent by ServerStreamingEcho per call (same env var for all servers). */
const STREAM_COUNT = positiveInt(process.env.STREAM_COUNT, 10000);

function positiveInt(value, fallback) {
  const n = Number.parseInt(value ?? '', 10);
  return Number.isFinite(n) && n > 0 ? n : fallback;
}

function unaryEcho(call, callback) {
  callback(null, { message: call.request.message });
}

// Sends STREAM_COUNT copies of the request message, honouring back-pressure:
// write() returning false means "wait for 'drain'".
function serverStreamingEcho(call) {
  const reply = { message: call.request.message };
  let sent = 0;
  const pump = () => {
    while (sent < STREAM_COUNT) {
      if (call.cancelled) return; // client gave up (e.g. bench time cap)
      sent++;
      if (!call.write(reply)) {
        call.once('drain', pump);
        return;
      }
    }
    call.end();
  };
  pump();
}

// Not part of the benchmark matrix; implemented so the service is complete.
// Replies with the last message received.
function clientStreamingEcho(call, callback) {
  let last = '';
  call.on('data', (req) => { last = req.message; });
  call.on('end', () => callback(null, { message: last }));
}

function bidirectionalStreamingEcho(call) {
  call.on('data', (req) => { call.write({ message: req.message }); });
  call.on('end', () => call.end());
}

module.exports = {
  STREAM_COUNT,
  impl: {
    UnaryEcho: unaryEcho,
    ServerStreamingEcho: serverStreamingEcho,
    ClientStreamingEcho: clientStreamingEcho,
    BidirectionalStreamingEcho: bidirectionalStreamingEcho,
  },
};
