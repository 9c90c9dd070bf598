/**
 * A small frame-builder DSL for specs: each builder returns the wire bytes of one frame
 * (built with encodeFrame, so it is as correct as the encoder; `raw` writes arbitrary bytes for
 * malformed frames). Plus helpers to decode one frame and to compare frames as plain data.
 */
import { decodeFrame } from '../../lib/transport/frame/decode-frame';
import { encodeFrame } from './encode-frame';
import type { Frame, PriorityInfo } from '../../lib/transport/frame/frame';
import { readFrameHeader, writeFrameHeader } from '../../lib/transport/frame/frame-header';
import { CLIENT_PREFACE, FRAME_HEADER_LENGTH, FrameType } from '../../lib/transport/frame/frame-type';
import type { SettingEntry } from '../../lib/transport/settings';

export const PREFACE = CLIENT_PREFACE;

/** Anything that can stand for some bytes in a spec: a Buffer, a latin1 string or a list of octets. */
export type Bytes = Buffer | Uint8Array | string | readonly number[];

export function bytes(value: Bytes): Buffer {
  if (typeof value === 'string') return Buffer.from(value, 'latin1');
  return Buffer.from(value as Uint8Array);
}

export interface HeadersOptions {
  endStream?: boolean;
  /** Defaults to true (a complete header block). */
  endHeaders?: boolean;
  padLength?: number;
  priority?: PriorityInfo;
}

export interface DataOptions {
  endStream?: boolean;
  padLength?: number;
}

export interface PushPromiseOptions {
  /** Defaults to true. */
  endHeaders?: boolean;
  padLength?: number;
}

export const frames = {
  settings(entries: readonly SettingEntry[] = []): Buffer {
    return encodeFrame({ type: FrameType.SETTINGS, streamId: 0, ack: false, entries: [...entries] });
  },

  settingsAck(): Buffer {
    return encodeFrame({ type: FrameType.SETTINGS, streamId: 0, ack: true, entries: [] });
  },

  headers(streamId: number, headerBlock: Bytes, options: HeadersOptions = {}): Buffer {
    return encodeFrame({
      type: FrameType.HEADERS,
      streamId,
      endStream: options.endStream ?? false,
      endHeaders: options.endHeaders ?? true,
      headerBlock: bytes(headerBlock),
      priority: options.priority,
      padLength: options.padLength,
    });
  },

  continuation(streamId: number, headerBlock: Bytes, endHeaders = true): Buffer {
    return encodeFrame({ type: FrameType.CONTINUATION, streamId, endHeaders, headerBlock: bytes(headerBlock) });
  },

  data(streamId: number, data: Bytes, options: DataOptions = {}): Buffer {
    const payload = bytes(data);
    const flowControlLength = payload.length + (options.padLength === undefined ? 0 : options.padLength + 1);
    return encodeFrame({
      type: FrameType.DATA,
      streamId,
      endStream: options.endStream ?? false,
      data: payload,
      flowControlLength,
      padLength: options.padLength,
    });
  },

  rstStream(streamId: number, errorCode: number): Buffer {
    return encodeFrame({ type: FrameType.RST_STREAM, streamId, errorCode });
  },

  ping(data: Bytes = Buffer.alloc(8), ack = false): Buffer {
    return encodeFrame({ type: FrameType.PING, streamId: 0, ack, data: bytes(data) });
  },

  goAway(lastStreamId: number, errorCode: number, debugData: Bytes = ''): Buffer {
    return encodeFrame({ type: FrameType.GOAWAY, streamId: 0, lastStreamId, errorCode, debugData: bytes(debugData) });
  },

  windowUpdate(streamId: number, increment: number): Buffer {
    return encodeFrame({ type: FrameType.WINDOW_UPDATE, streamId, increment });
  },

  priority(streamId: number, priority: Partial<PriorityInfo> = {}): Buffer {
    const { exclusive = false, dependsOn = 0, weight = 16 } = priority;
    return encodeFrame({ type: FrameType.PRIORITY, streamId, priority: { exclusive, dependsOn, weight } });
  },

  pushPromise(streamId: number, promisedStreamId: number, headerBlock: Bytes, options: PushPromiseOptions = {}): Buffer {
    return encodeFrame({
      type: FrameType.PUSH_PROMISE,
      streamId,
      promisedStreamId,
      endHeaders: options.endHeaders ?? true,
      headerBlock: bytes(headerBlock),
      padLength: options.padLength,
    });
  },

  /**
   * Any 9-byte header followed by `payload`, for malformed frames. `length` overrides the length
   * field (e.g. to announce an oversized frame without sending its payload).
   */
  raw(type: number, flags: number, streamId: number, payload: Bytes = [], length?: number): Buffer {
    const body = bytes(payload);
    const out = Buffer.alloc(FRAME_HEADER_LENGTH + body.length);
    writeFrameHeader(out, 0, length ?? body.length, type, flags, streamId);
    body.copy(out, FRAME_HEADER_LENGTH);
    return out;
  },
};

/** Decodes exactly one whole frame (header + payload) the way the reader does: readFrameHeader + decodeFrame. */
export function decodeOne(wire: Buffer): Frame {
  const header = readFrameHeader(wire, 0);
  if (wire.length !== FRAME_HEADER_LENGTH + header.length) {
    throw new Error(`decodeOne: ${wire.length} bytes for a frame of length ${header.length}`);
  }
  return decodeFrame(header, wire.subarray(FRAME_HEADER_LENGTH));
}

/**
 * A frame as plain comparable data: Buffers become hex strings, undefined fields and the
 * encode-only `padLength` are dropped. Use with `deep.equal` to compare decoded and expected frames.
 */
export function plain(frame: Frame): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(frame)) {
    if (value === undefined || key === 'padLength') continue;
    out[key] = Buffer.isBuffer(value) ? value.toString('hex') : value;
  }
  return out;
}
