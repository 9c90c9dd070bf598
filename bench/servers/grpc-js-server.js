'use strict';
// Baseline: the Echo service on @grpc/grpc-js.
require('./grpc-api-server').runGrpcApiServer(require('@grpc/grpc-js'));
