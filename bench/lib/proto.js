'use strict';
// Shared Echo-proto helpers for the servers, the runner and the streaming
// client. Everything here is plain CommonJS so the suite needs no ts-node.

const fs = require('node:fs');
const path = require('node:path');

const REPO_ROOT = path.resolve(__dirname, '..', '..');

// The repo-level proto wins once it exists; until then use the bench copy
// (both are the same grpc.examples.echo definition).
const PROTO_PATH = fs.existsSync(path.join(REPO_ROOT, 'protos', 'echo.proto'))
  ? path.join(REPO_ROOT, 'protos', 'echo.proto')
  : path.join(REPO_ROOT, 'bench', 'echo.proto');

const LOADER_OPTIONS = { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true };

const SERVICE = 'grpc.examples.echo.Echo';
const METHOD_PATHS = {
  unary: `/${SERVICE}/UnaryEcho`,
  serverStreaming: `/${SERVICE}/ServerStreamingEcho`,
  clientStreaming: `/${SERVICE}/ClientStreamingEcho`,
  bidi: `/${SERVICE}/BidirectionalStreamingEcho`,
};

/** grpc-js style package object (`.grpc.examples.echo.Echo` is a client ctor, `.service` its definition). */
function loadEchoPackage(loadPackageDefinition) {
  // Each server loads the proto with its own library's loadPackageDefinition (so ours does not
  // carry grpc-js's code in its process); grpc-js's is the default, for clients and grpc-js.
  const load = loadPackageDefinition || require('@grpc/grpc-js').loadPackageDefinition;
  const protoLoader = require('@grpc/proto-loader');
  const def = protoLoader.loadSync(PROTO_PATH, LOADER_OPTIONS);
  return load(def).grpc.examples.echo;
}

/** protobufjs message types, for code that does its own framing. */
function loadMessageTypes() {
  const protobuf = require('protobufjs');
  const root = protobuf.loadSync(PROTO_PATH);
  return {
    EchoRequest: root.lookupType('grpc.examples.echo.EchoRequest'),
    EchoResponse: root.lookupType('grpc.examples.echo.EchoResponse'),
  };
}

/** Wrap a serialized protobuf message in the 5-byte gRPC length prefix (uncompressed). */
function grpcFrame(payload) {
  const out = Buffer.allocUnsafe(5 + payload.length);
  out[0] = 0; // compressed-flag
  out.writeUInt32BE(payload.length, 1);
  payload.copy(out, 5);
  return out;
}

/** A gRPC-framed EchoRequest whose `message` field is `size` ASCII bytes. */
function echoRequestBody(size) {
  const { EchoRequest } = loadMessageTypes();
  const message = 'x'.repeat(size);
  return grpcFrame(Buffer.from(EchoRequest.encode({ message }).finish()));
}

module.exports = {
  PROTO_PATH, LOADER_OPTIONS, SERVICE, METHOD_PATHS, REPO_ROOT,
  loadEchoPackage, loadMessageTypes, grpcFrame, echoRequestBody,
};
