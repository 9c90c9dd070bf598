'use strict';
// "ours": the Echo service on the built h2grpc library (dist/, produced by
// `npm run build`; bench/run.js builds it first). Same API and handlers as
// grpc-js-server.js.

let lib;
try {
  lib = require('../../dist/index.js');
} catch (err) {
  require('./lifecycle').fail(`cannot load dist/index.js (run \`npm run build\`): ${err.message.split('\n')[0]}`);
}
require('./grpc-api-server').runGrpcApiServer(lib);
