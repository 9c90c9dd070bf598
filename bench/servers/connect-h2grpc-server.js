'use strict';
// "connect-ours": the Connect Echo router on h2grpc's Server (dist/, `npm run build` first).

const { announce, exitOnShutdown, fail } = require('./lifecycle');

let lib;
let connect;
try {
  lib = require('../../dist/index.js');
  connect = require('../../dist/connect/index.js');
} catch (err) {
  fail(`cannot load dist/ (run \`npm run build\`): ${err.message.split('\n')[0]}`);
}
const server = new lib.Server();
connect.addConnectRouter(server, { routes: require('./connect-routes').routes });
server.listen(0, '127.0.0.1').then(announce, fail);
exitOnShutdown(() => server.forceShutdown());
