'use strict';
// "ours": the Echo service on the built h2grpc library (dist/, produced by
// `npm run build`; bench/run.js builds it first). Same API and handlers as
// grpc-js-server.js. H2GRPC_DIST names another built dist/ directory (A/B runs
// of bench/fresh-rss.js).

const path = require('node:path');

let lib;
const dist = process.env.H2GRPC_DIST ? path.resolve(process.env.H2GRPC_DIST) : path.join(__dirname, '../../dist');
try {
  lib = require(path.join(dist, 'index.js'));
} catch (err) {
  require('./lifecycle').fail(`cannot load ${dist}/index.js (run \`npm run build\`): ${err.message.split('\n')[0]}`);
}
require('./grpc-api-server').runGrpcApiServer(lib);
