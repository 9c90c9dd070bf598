import { expect } from 'chai';
import { Code } from '@connectrpc/connect';
import { connectErrorFromReset } from '../../lib/connect/reset-error';
import { ErrorCode } from '../../lib/transport';

describe('connect/reset-error', () => {
  it('maps RST_STREAM codes as PROTOCOL-HTTP2.md maps them to gRPC statuses', () => {
    expect(connectErrorFromReset(ErrorCode.CANCEL, 'remote').code).to.equal(Code.Canceled);
    expect(connectErrorFromReset(ErrorCode.REFUSED_STREAM, 'remote').code).to.equal(Code.Unavailable);
    expect(connectErrorFromReset(ErrorCode.ENHANCE_YOUR_CALM, 'remote').code).to.equal(Code.ResourceExhausted);
    expect(connectErrorFromReset(ErrorCode.INADEQUATE_SECURITY, 'remote').code).to.equal(Code.PermissionDenied);
    expect(connectErrorFromReset(ErrorCode.PROTOCOL_ERROR, 'library').code).to.equal(Code.Internal);
    expect(connectErrorFromReset(0x99, 'remote').code).to.equal(Code.Internal);
  });

  it('says who reset the stream and with which code', () => {
    expect(connectErrorFromReset(ErrorCode.CANCEL, 'remote').rawMessage).to.equal('http/2 stream reset by the client with CANCEL');
    expect(connectErrorFromReset(ErrorCode.FLOW_CONTROL_ERROR, 'library').rawMessage).to.equal('http/2 stream reset by the server with FLOW_CONTROL_ERROR');
  });
});
