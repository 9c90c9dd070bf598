'use strict';
// "connect-node": the same Connect Echo router on connect-node's adapter over node:http2 (h2c).

const http2 = require('node:http2');
const { connectNodeAdapter } = require('@connectrpc/connect-node');
const { announce, exitOnShutdown, fail } = require('./lifecycle');

const server = http2.createServer(connectNodeAdapter({ routes: require('./connect-routes').routes }));
server.on('error', fail);
server.listen(0, '127.0.0.1', () => announce(server.address().port));
exitOnShutdown(() => server.close());
