import { ConnectionError, ErrorCode, StreamError } from '../errors';
import type { SettingEntry } from '../settings';
import type { Frame, PriorityInfo } from './frame';
import type { FrameHeader } from './frame-header';
import { FrameFlag, FrameType } from './frame-type';

function connectionError(code: number, message: string): ConnectionError {
  return new ConnectionError(code, message);
}

function requireStream(header: FrameHeader, name: string): void {
  // DATA, HEADERS, PRIORITY, RST_STREAM, PUSH_PROMISE and CONTINUATION frames MUST be associated
  // with a stream; stream 0 is a connection error of type PROTOCOL_ERROR (RFC 9113 §6.1–§6.10).
  if (header.streamId === 0) throw connectionError(ErrorCode.PROTOCOL_ERROR, `${name} on stream 0`);
}

function requireConnection(header: FrameHeader, name: string): void {
  // SETTINGS, PING and GOAWAY apply to the connection; a non-zero stream id is a PROTOCOL_ERROR.
  if (header.streamId !== 0) throw connectionError(ErrorCode.PROTOCOL_ERROR, `${name} on stream ${header.streamId}`);
}

/**
 * Checks padding (RFC 9113 §6.1) and returns the end of the unpadded content within payload; it
 * starts at 1 when the PADDED flag is set (the pad length byte), else at 0. Two numbers rather
 * than a [start, end] pair: this runs for every DATA and HEADERS frame.
 */
function unpaddedEnd(header: FrameHeader, payload: Buffer, name: string): number {
  if ((header.flags & FrameFlag.PADDED) === 0) return payload.length;
  if (payload.length < 1) throw connectionError(ErrorCode.FRAME_SIZE_ERROR, `${name} too short for pad length`);
  const padLength = payload[0];
  // If the length of the padding is the length of the frame payload or greater, the recipient
  // MUST treat this as a connection error of type PROTOCOL_ERROR.
  if (padLength >= payload.length) throw connectionError(ErrorCode.PROTOCOL_ERROR, `${name} padding exceeds payload`);
  return payload.length - padLength;
}

function unpaddedStart(header: FrameHeader): number {
  return (header.flags & FrameFlag.PADDED) === 0 ? 0 : 1;
}

/**
 * The content of a DATA frame (RFC 9113 §6.1): the payload itself, or the slice between the pad
 * length byte and the padding. Throws ConnectionError for a DATA frame on stream 0 or bad padding.
 * The reader's fast path for DATA, which needs no frame object.
 */
export function dataFrameContent(header: FrameHeader, payload: Buffer): Buffer {
  requireStream(header, 'DATA');
  const end = unpaddedEnd(header, payload, 'DATA');
  const start = unpaddedStart(header);
  return start === 0 && end === payload.length ? payload : payload.subarray(start, end);
}

function readPriority(payload: Buffer, offset: number): PriorityInfo {
  const word = payload.readUInt32BE(offset);
  return { exclusive: (word & 0x80000000) !== 0, dependsOn: word & 0x7fffffff, weight: payload[offset + 4] + 1 };
}

/**
 * Decodes one frame's payload. Every MUST of RFC 9113 §6 about a single frame is checked here
 * and becomes a typed ConnectionError or StreamError; checks that need stream state are the reader loop's.
 */
export function decodeFrame(header: FrameHeader, payload: Buffer): Frame {
  const { type, flags, streamId } = header;
  switch (type) {
    case FrameType.DATA:
      return {
        type: FrameType.DATA,
        streamId,
        endStream: (flags & FrameFlag.END_STREAM) !== 0,
        data: dataFrameContent(header, payload),
        flowControlLength: payload.length,
      };
    case FrameType.HEADERS: {
      requireStream(header, 'HEADERS');
      const end = unpaddedEnd(header, payload, 'HEADERS');
      let start = unpaddedStart(header);
      let priority: PriorityInfo | undefined;
      if (flags & FrameFlag.PRIORITY) {
        const fixedLength = start + 5;
        if (payload.length < fixedLength) throw connectionError(ErrorCode.FRAME_SIZE_ERROR, 'HEADERS too short for priority');
        // Padding that exceeds the size remaining for the field block fragment MUST be treated as
        // a PROTOCOL_ERROR (RFC 9113 §6.2).
        if (end < fixedLength) throw connectionError(ErrorCode.PROTOCOL_ERROR, 'HEADERS padding overlaps priority');
        priority = readPriority(payload, start);
        start += 5;
        // A self-dependency (RFC 9113 §5.3.1) is a stream error, but the header block must still be
        // decoded to keep HPACK state in sync, so the reader loop checks it after decoding.
      }
      return {
        type: FrameType.HEADERS,
        streamId,
        endStream: (flags & FrameFlag.END_STREAM) !== 0,
        endHeaders: (flags & FrameFlag.END_HEADERS) !== 0,
        headerBlock: start === 0 && end === payload.length ? payload : payload.subarray(start, end),
        priority,
      };
    }
    case FrameType.PRIORITY: {
      requireStream(header, 'PRIORITY');
      // A PRIORITY frame with a length other than 5 octets MUST be treated as a stream error of type FRAME_SIZE_ERROR.
      if (payload.length !== 5) throw new StreamError(streamId, ErrorCode.FRAME_SIZE_ERROR, `PRIORITY length ${payload.length}`);
      const priority = readPriority(payload, 0);
      if (priority.dependsOn === streamId) throw new StreamError(streamId, ErrorCode.PROTOCOL_ERROR, 'stream depends on itself');
      return { type: FrameType.PRIORITY, streamId, priority };
    }
    case FrameType.RST_STREAM: {
      requireStream(header, 'RST_STREAM');
      // A RST_STREAM frame with a length other than 4 octets MUST be treated as a connection error of type FRAME_SIZE_ERROR.
      if (payload.length !== 4) throw connectionError(ErrorCode.FRAME_SIZE_ERROR, `RST_STREAM length ${payload.length}`);
      return { type: FrameType.RST_STREAM, streamId, errorCode: payload.readUInt32BE(0) };
    }
    case FrameType.SETTINGS: {
      requireConnection(header, 'SETTINGS');
      const ack = (flags & FrameFlag.ACK) !== 0;
      // Receipt of a SETTINGS frame with the ACK flag set and a length field value other than 0
      // MUST be treated as a connection error of type FRAME_SIZE_ERROR.
      if (ack && payload.length !== 0) throw connectionError(ErrorCode.FRAME_SIZE_ERROR, 'SETTINGS ACK with payload');
      // A SETTINGS frame with a length other than a multiple of 6 octets MUST be treated as a
      // connection error of type FRAME_SIZE_ERROR.
      if (payload.length % 6 !== 0) throw connectionError(ErrorCode.FRAME_SIZE_ERROR, `SETTINGS length ${payload.length}`);
      const entries: SettingEntry[] = [];
      for (let offset = 0; offset < payload.length; offset += 6) {
        entries.push({ id: payload.readUInt16BE(offset), value: payload.readUInt32BE(offset + 2) });
      }
      return { type: FrameType.SETTINGS, streamId: 0, ack, entries };
    }
    case FrameType.PUSH_PROMISE: {
      requireStream(header, 'PUSH_PROMISE');
      const end = unpaddedEnd(header, payload, 'PUSH_PROMISE');
      const start = unpaddedStart(header);
      if (end - start < 4) throw connectionError(ErrorCode.FRAME_SIZE_ERROR, 'PUSH_PROMISE too short');
      return {
        type: FrameType.PUSH_PROMISE,
        streamId,
        promisedStreamId: payload.readUInt32BE(start) & 0x7fffffff,
        endHeaders: (flags & FrameFlag.END_HEADERS) !== 0,
        headerBlock: payload.subarray(start + 4, end),
      };
    }
    case FrameType.PING: {
      requireConnection(header, 'PING');
      // Receipt of a PING frame with a length field value other than 8 MUST be treated as a
      // connection error of type FRAME_SIZE_ERROR.
      if (payload.length !== 8) throw connectionError(ErrorCode.FRAME_SIZE_ERROR, `PING length ${payload.length}`);
      return { type: FrameType.PING, streamId: 0, ack: (flags & FrameFlag.ACK) !== 0, data: payload };
    }
    case FrameType.GOAWAY: {
      requireConnection(header, 'GOAWAY');
      if (payload.length < 8) throw connectionError(ErrorCode.FRAME_SIZE_ERROR, `GOAWAY length ${payload.length}`);
      return {
        type: FrameType.GOAWAY,
        streamId: 0,
        lastStreamId: payload.readUInt32BE(0) & 0x7fffffff,
        errorCode: payload.readUInt32BE(4),
        debugData: payload.subarray(8),
      };
    }
    case FrameType.WINDOW_UPDATE: {
      // A WINDOW_UPDATE frame with a length other than 4 octets MUST be treated as a connection
      // error of type FRAME_SIZE_ERROR.
      if (payload.length !== 4) throw connectionError(ErrorCode.FRAME_SIZE_ERROR, `WINDOW_UPDATE length ${payload.length}`);
      const increment = payload.readUInt32BE(0) & 0x7fffffff;
      // A receiver MUST treat the receipt of a WINDOW_UPDATE frame with a flow-control window
      // increment of 0 as a stream error of type PROTOCOL_ERROR; errors on the connection
      // flow-control window MUST be treated as a connection error.
      if (increment === 0) {
        if (streamId === 0) throw connectionError(ErrorCode.PROTOCOL_ERROR, 'WINDOW_UPDATE increment 0');
        throw new StreamError(streamId, ErrorCode.PROTOCOL_ERROR, 'WINDOW_UPDATE increment 0');
      }
      return { type: FrameType.WINDOW_UPDATE, streamId, increment };
    }
    case FrameType.CONTINUATION: {
      requireStream(header, 'CONTINUATION');
      return {
        type: FrameType.CONTINUATION,
        streamId,
        endHeaders: (flags & FrameFlag.END_HEADERS) !== 0,
        headerBlock: payload,
      };
    }
    default:
      // Implementations MUST ignore and discard frames of unknown types (RFC 9113 §4.1).
      return { type: 'unknown', frameType: type, streamId, flags, payload };
  }
}
