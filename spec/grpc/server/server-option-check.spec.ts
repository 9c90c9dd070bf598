import { expect } from 'chai';
import { Server } from '../../../lib';

/** An option the server would ignore throws at construction (a misspelled key included). */
describe('Server options we do not implement', () => {
  it('accepts the options it implements', () => {
    expect(
      () => new Server({ 'grpc.max_concurrent_streams': 10, 'h2grpc.max_connections': 5, 'grpc.keepalive_time_ms': 1000, interceptors: [] }),
    ).to.not.throw();
  });

  it('accepts client-side channel options grpc-js lets a server take (they mean nothing there)', () => {
    expect(
      () => new Server({ 'grpc.primary_user_agent': 'x', 'grpc.enable_retries': 0, 'grpc-node.max_session_memory': 10, 'grpc.enable_channelz': 0 }),
    ).to.not.throw();
  });

  it('throws for an option it does not implement, and for a misspelled one', () => {
    for (const key of ['grpc.server_call_metric_recording', 'grpc-node.tls_enable_trace', 'grpc.max_recieve_message_length', 'h2grpc.max_conections']) {
      expect(() => new Server({ [key]: 1 }), key).to.throw(Error, new RegExp(`"${key.replace(/\./g, '\\.')}" is not supported`));
    }
  });

  it('throws when channelz is asked for: it is not implemented', () => {
    expect(() => new Server({ 'grpc.enable_channelz': 1 })).to.throw(Error, /channelz is not implemented/);
  });
});
