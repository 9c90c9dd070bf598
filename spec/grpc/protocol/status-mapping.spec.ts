import { expect } from 'chai';
import { statusFromHttpStatus, statusFromResetCode } from '../../../lib/grpc/protocol/status-mapping';
import { Status } from '../../../lib/grpc/status';
import { ErrorCode } from '../../../lib/transport/errors';

describe('status mapping', () => {
  describe('statusFromHttpStatus (doc/http-grpc-status-mapping.md)', () => {
    const table: Array<[number, Status]> = [
      [400, Status.INTERNAL],
      [401, Status.UNAUTHENTICATED],
      [403, Status.PERMISSION_DENIED],
      [404, Status.UNIMPLEMENTED],
      [429, Status.UNAVAILABLE],
      [502, Status.UNAVAILABLE],
      [503, Status.UNAVAILABLE],
      [504, Status.UNAVAILABLE],
    ];
    for (const [http, grpc] of table) {
      it(`${http} → ${Status[grpc]}`, () => {
        expect(statusFromHttpStatus(http)).to.equal(grpc);
      });
    }

    it('431 Request Header Fields Too Large → INTERNAL', () => {
      // Row "431 Request Header Fields Too Large | INTERNAL" of the current mapping table.
      expect(statusFromHttpStatus(431)).to.equal(Status.INTERNAL);
    });

    it('every other code → UNKNOWN, 200 included', () => {
      const listed = new Set([...table.map(([http]) => http), 431]);
      for (let http = 100; http <= 599; http++) {
        if (listed.has(http)) continue;
        expect(statusFromHttpStatus(http), String(http)).to.equal(Status.UNKNOWN);
      }
    });
  });

  describe('statusFromResetCode (PROTOCOL-HTTP2.md "Errors")', () => {
    const table: Array<[keyof typeof ErrorCode, Status]> = [
      ['NO_ERROR', Status.INTERNAL],
      ['PROTOCOL_ERROR', Status.INTERNAL],
      ['INTERNAL_ERROR', Status.INTERNAL],
      ['FLOW_CONTROL_ERROR', Status.INTERNAL],
      ['SETTINGS_TIMEOUT', Status.INTERNAL],
      ['FRAME_SIZE_ERROR', Status.INTERNAL],
      ['REFUSED_STREAM', Status.UNAVAILABLE],
      ['CANCEL', Status.CANCELLED],
      ['COMPRESSION_ERROR', Status.INTERNAL],
      ['CONNECT_ERROR', Status.INTERNAL],
      ['ENHANCE_YOUR_CALM', Status.RESOURCE_EXHAUSTED],
      ['INADEQUATE_SECURITY', Status.PERMISSION_DENIED],
    ];
    for (const [name, grpc] of table) {
      it(`${name} (0x${ErrorCode[name].toString(16)}) → ${Status[grpc]}`, () => {
        expect(statusFromResetCode(ErrorCode[name])).to.equal(grpc);
      });
    }

    it('codes the table does not map (STREAM_CLOSED, HTTP_1_1_REQUIRED, unknown codes) → INTERNAL', () => {
      for (const code of [ErrorCode.STREAM_CLOSED, ErrorCode.HTTP_1_1_REQUIRED, 0xe, 0xff, 0xffffffff]) {
        expect(statusFromResetCode(code), `0x${code.toString(16)}`).to.equal(Status.INTERNAL);
      }
    });

    it('uses the RFC 9113 §7 numbering for the codes with a specific mapping', () => {
      expect(statusFromResetCode(0x7)).to.equal(Status.UNAVAILABLE);
      expect(statusFromResetCode(0x8)).to.equal(Status.CANCELLED);
      expect(statusFromResetCode(0xb)).to.equal(Status.RESOURCE_EXHAUSTED);
      expect(statusFromResetCode(0xc)).to.equal(Status.PERMISSION_DENIED);
    });
  });
});
