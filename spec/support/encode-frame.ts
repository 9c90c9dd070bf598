import { assertNever } from '../../lib/transport/errors';
import type { Frame, PriorityInfo } from '../../lib/transport/frame/frame';
import { writeFrameHeader } from '../../lib/transport/frame/frame-header';
import { FRAME_HEADER_LENGTH, FrameFlag, FrameType } from '../../lib/transport/frame/frame-type';

/** The type byte, flags and payload of a frame, before the 9-byte header is added. */
export interface EncodedPayload {
  type: number;
  flags: number;
  streamId: number;
  parts: Buffer[];
}

function priorityBytes(priority: PriorityInfo): Buffer {
  const bytes = Buffer.allocUnsafe(5);
  bytes.writeUInt32BE(((priority.exclusive ? 0x80000000 : 0) | priority.dependsOn) >>> 0, 0);
  bytes[4] = priority.weight - 1;
  return bytes;
}

function padded(parts: Buffer[], padLength: number | undefined): { parts: Buffer[]; flag: number } {
  if (padLength === undefined) return { parts, flag: 0 };
  return { parts: [Buffer.from([padLength]), ...parts, Buffer.alloc(padLength)], flag: FrameFlag.PADDED };
}

function uint32(value: number): Buffer {
  const bytes = Buffer.allocUnsafe(4);
  bytes.writeUInt32BE(value >>> 0, 0);
  return bytes;
}

/**
 * Lays out a frame's payload (RFC 9113 §6): a reference encoder for specs and the raw peer,
 * written apart from the FrameWriter's copy-free path so each checks the other.
 */
export function framePayload(frame: Frame): EncodedPayload {
  switch (frame.type) {
    case FrameType.DATA: {
      const { parts, flag } = padded([frame.data], frame.padLength);
      return { type: frame.type, flags: flag | (frame.endStream ? FrameFlag.END_STREAM : 0), streamId: frame.streamId, parts };
    }
    case FrameType.HEADERS: {
      const body = frame.priority ? [priorityBytes(frame.priority), frame.headerBlock] : [frame.headerBlock];
      const { parts, flag } = padded(body, frame.padLength);
      const flags =
        flag | (frame.endStream ? FrameFlag.END_STREAM : 0) | (frame.endHeaders ? FrameFlag.END_HEADERS : 0) | (frame.priority ? FrameFlag.PRIORITY : 0);
      return { type: frame.type, flags, streamId: frame.streamId, parts };
    }
    case FrameType.PRIORITY:
      return { type: frame.type, flags: 0, streamId: frame.streamId, parts: [priorityBytes(frame.priority)] };
    case FrameType.RST_STREAM:
      return { type: frame.type, flags: 0, streamId: frame.streamId, parts: [uint32(frame.errorCode)] };
    case FrameType.SETTINGS: {
      const body = Buffer.allocUnsafe(frame.entries.length * 6);
      frame.entries.forEach((entry, index) => {
        body.writeUInt16BE(entry.id, index * 6);
        body.writeUInt32BE(entry.value >>> 0, index * 6 + 2);
      });
      return { type: frame.type, flags: frame.ack ? FrameFlag.ACK : 0, streamId: 0, parts: [body] };
    }
    case FrameType.PUSH_PROMISE: {
      const { parts, flag } = padded([uint32(frame.promisedStreamId), frame.headerBlock], frame.padLength);
      return { type: frame.type, flags: flag | (frame.endHeaders ? FrameFlag.END_HEADERS : 0), streamId: frame.streamId, parts };
    }
    case FrameType.PING:
      return { type: frame.type, flags: frame.ack ? FrameFlag.ACK : 0, streamId: 0, parts: [frame.data] };
    case FrameType.GOAWAY:
      return { type: frame.type, flags: 0, streamId: 0, parts: [uint32(frame.lastStreamId), uint32(frame.errorCode), frame.debugData] };
    case FrameType.WINDOW_UPDATE:
      return { type: frame.type, flags: 0, streamId: frame.streamId, parts: [uint32(frame.increment)] };
    case FrameType.CONTINUATION:
      return { type: frame.type, flags: frame.endHeaders ? FrameFlag.END_HEADERS : 0, streamId: frame.streamId, parts: [frame.headerBlock] };
    case 'unknown':
      return { type: frame.frameType, flags: frame.flags, streamId: frame.streamId, parts: [frame.payload] };
    default:
      return assertNever(frame, 'frame');
  }
}

/** Encodes a whole frame, header included, into one new Buffer. */
export function encodeFrame(frame: Frame): Buffer {
  const { type, flags, streamId, parts } = framePayload(frame);
  let length = 0;
  for (const part of parts) length += part.length;
  const out = Buffer.allocUnsafe(FRAME_HEADER_LENGTH + length);
  let offset = writeFrameHeader(out, 0, length, type, flags, streamId);
  for (const part of parts) offset += part.copy(out, offset);
  return out;
}
