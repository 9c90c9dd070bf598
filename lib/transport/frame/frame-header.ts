import { FRAME_HEADER_LENGTH } from './frame-type';

/** The 9-byte frame header, RFC 9113 §4.1. */
export interface FrameHeader {
  length: number;
  type: number;
  flags: number;
  streamId: number;
}

/** Reads a frame header into `target` (reused by the frame reader: no allocation per frame). */
export function readFrameHeaderInto(buffer: Buffer, offset: number, target: FrameHeader): FrameHeader {
  target.length = (buffer[offset] << 16) | (buffer[offset + 1] << 8) | buffer[offset + 2];
  target.type = buffer[offset + 3];
  target.flags = buffer[offset + 4];
  target.streamId = buffer.readUInt32BE(offset + 5) & 0x7fffffff;
  return target;
}

export function readFrameHeader(buffer: Buffer, offset: number): FrameHeader {
  return {
    length: (buffer[offset] << 16) | (buffer[offset + 1] << 8) | buffer[offset + 2],
    type: buffer[offset + 3],
    flags: buffer[offset + 4],
    // The reserved high bit MUST be ignored when receiving.
    streamId: buffer.readUInt32BE(offset + 5) & 0x7fffffff,
  };
}

/** Writes a frame header at `offset`; returns the offset just past it. */
export function writeFrameHeader(buffer: Buffer, offset: number, length: number, type: number, flags: number, streamId: number): number {
  buffer[offset] = (length >>> 16) & 0xff;
  buffer[offset + 1] = (length >>> 8) & 0xff;
  buffer[offset + 2] = length & 0xff;
  buffer[offset + 3] = type;
  buffer[offset + 4] = flags;
  buffer.writeUInt32BE(streamId & 0x7fffffff, offset + 5);
  return offset + FRAME_HEADER_LENGTH;
}
