'use strict';
// The Echo service as a Connect-ES router, for connect-h2grpc-server.js (ours) and
// connect-node-server.js (connect-node on node:http2): the same routes on both. The service
// descriptor comes from the Echo .proto through protobufjs (no codegen step).

const protobuf = require('protobufjs');
require('protobufjs/ext/descriptor');
const { create, createFileRegistry, fromBinary } = require('@bufbuild/protobuf');
const { FileDescriptorSetSchema } = require('@bufbuild/protobuf/wkt');
const { PROTO_PATH } = require('../lib/proto');

function loadEcho() {
  const root = protobuf.loadSync(PROTO_PATH);
  const set = root.toDescriptor('proto3');
  const files = fromBinary(FileDescriptorSetSchema, set.constructor.encode(set).finish());
  // protobufjs writes json_name as ""; protoc writes the lowerCamelCase name.
  for (const file of files.file) for (const message of file.messageType) for (const field of message.field) field.jsonName = field.name;
  const registry = createFileRegistry(files);
  return { service: registry.getService('grpc.examples.echo.Echo'), response: registry.getMessage('grpc.examples.echo.EchoResponse') };
}

const { service, response } = loadEcho();

function routes(router) {
  router.service(service, {
    async unaryEcho(request) {
      return create(response, { message: request.message });
    },
    async *serverStreamingEcho(request) {
      const count = Number(process.env.STREAM_COUNT || 1);
      for (let index = 0; index < count; index++) yield create(response, { message: request.message });
    },
    async clientStreamingEcho(requests) {
      const messages = [];
      for await (const request of requests) messages.push(request.message);
      return create(response, { message: messages.join(',') });
    },
    async *bidirectionalStreamingEcho(requests) {
      for await (const request of requests) yield create(response, { message: request.message });
    },
  });
}

module.exports = { routes };
