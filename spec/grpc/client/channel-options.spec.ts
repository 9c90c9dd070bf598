import { expect } from 'chai';
import { resolveChannelOptions } from '../../../lib/grpc/client/channel-options';

describe('client channel options', () => {
  it('defaults as grpc-js and gRPC connection-backoff', () => {
    const options = resolveChannelOptions();
    expect(options).to.include({
      maxReceiveMessageSize: 4 * 1024 * 1024,
      maxSendMessageSize: Infinity,
      compression: 'identity',
      keepaliveTimeMs: Infinity,
      keepaliveTimeoutMs: 20_000,
      initialBackoffMs: 1000,
      maxBackoffMs: 120_000,
      minConnectTimeoutMs: 20_000,
      lbPolicy: 'pick_first',
    });
  });

  it('the load-balancing policy from grpc.service_config or grpc.lb_policy_name', () => {
    expect(resolveChannelOptions({ 'grpc.lb_policy_name': 'round_robin' }).lbPolicy).to.equal('round_robin');
    const config = JSON.stringify({ loadBalancingConfig: [{ unknown_policy: {} }, { round_robin: {} }] });
    expect(resolveChannelOptions({ 'grpc.service_config': config }).lbPolicy).to.equal('round_robin');
    expect(() => resolveChannelOptions({ 'grpc.service_config': JSON.stringify({ methodConfig: [] }) })).to.throw(/methodConfig/);
  });

  it('options grpc-js knows and we do not implement throw; harmless tuning knobs are accepted', () => {
    expect(() => resolveChannelOptions({ interceptor_providers: [] })).to.throw(/a Client option/);
    expect(() => resolveChannelOptions({ channelOverride: {} })).to.throw(/not supported yet/);
    expect(() => resolveChannelOptions({ 'grpc.max_connection_age_ms': 1 })).to.throw(/not supported/);
    expect(() => resolveChannelOptions({ 'grpc.default_compression_algorithm': 7 })).to.throw(/not supported/);
    expect(() => resolveChannelOptions({ 'grpc-node.max_session_memory': 10 })).to.not.throw();
  });

  it('unknown h2grpc.* keys throw as unknown grpc.* keys do; h2grpc.dialer must be a function', () => {
    expect(() => resolveChannelOptions({ 'h2grpc.no_such_option': 1 })).to.throw(/"h2grpc.no_such_option" is not supported/);
    expect(() => resolveChannelOptions({ 'h2grpc.dialer': 'memory' as unknown as () => never })).to.throw(TypeError, /h2grpc.dialer must be a function/);
    const dialer = () => {
      throw new Error('unused');
    };
    expect(resolveChannelOptions({ 'h2grpc.dialer': dialer }).dialer).to.equal(dialer);
    expect(resolveChannelOptions().dialer).to.equal(null);
  });
});
