'use strict';
// Runs the Echo service on any library exposing the grpc-js server API
// (Server, ServerCredentials, addService, bindAsync). Used by both
// h2grpc-server.js (ours) and grpc-js-server.js so the two differ only in the
// library passed in.

const { loadEchoPackage } = require('../lib/proto');
const { impl } = require('./echo-handlers');
const { announce, exitOnShutdown, fail } = require('./lifecycle');

function runGrpcApiServer(lib) {
  const { Server, ServerCredentials } = lib;
  if (typeof Server !== 'function' || !ServerCredentials) {
    fail(new Error('library does not export Server/ServerCredentials'));
  }
  const echoServiceDefinition = loadEchoPackage(lib.loadPackageDefinition).Echo.service;
  const server = new Server();
  server.addService(echoServiceDefinition, impl);
  server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, port) => {
    if (err) return fail(err);
    announce(port);
  });
  exitOnShutdown(() => server.forceShutdown());
}

module.exports = { runGrpcApiServer };
