import type { SettingEntry } from '../settings';
import { FrameType } from './frame-type';

/** Stream dependency data from a PRIORITY frame or a HEADERS frame with the PRIORITY flag (deprecated, parsed and ignored). */
export interface PriorityInfo {
  exclusive: boolean;
  dependsOn: number;
  weight: number;
}

export interface DataFrame {
  type: typeof FrameType.DATA;
  streamId: number;
  endStream: boolean;
  data: Buffer;
  /** Whole payload length including padding: what counts against flow control (RFC 9113 §6.1). */
  flowControlLength: number;
  /** Pad length to emit when encoding (0 = not padded). */
  padLength?: number;
}

export interface HeadersFrame {
  type: typeof FrameType.HEADERS;
  streamId: number;
  endStream: boolean;
  /** Set on a lone HEADERS frame; a frame reader assembling CONTINUATIONs yields one frame with it set. */
  endHeaders: boolean;
  headerBlock: Buffer;
  priority?: PriorityInfo;
  padLength?: number;
}

export interface PriorityFrame {
  type: typeof FrameType.PRIORITY;
  streamId: number;
  priority: PriorityInfo;
}

export interface RstStreamFrame {
  type: typeof FrameType.RST_STREAM;
  streamId: number;
  errorCode: number;
}

export interface SettingsFrame {
  type: typeof FrameType.SETTINGS;
  streamId: 0;
  ack: boolean;
  entries: SettingEntry[];
}

export interface PushPromiseFrame {
  type: typeof FrameType.PUSH_PROMISE;
  streamId: number;
  promisedStreamId: number;
  endHeaders: boolean;
  headerBlock: Buffer;
  padLength?: number;
}

export interface PingFrame {
  type: typeof FrameType.PING;
  streamId: 0;
  ack: boolean;
  /** Exactly 8 bytes. */
  data: Buffer;
}

export interface GoAwayFrame {
  type: typeof FrameType.GOAWAY;
  streamId: 0;
  lastStreamId: number;
  errorCode: number;
  debugData: Buffer;
}

export interface WindowUpdateFrame {
  type: typeof FrameType.WINDOW_UPDATE;
  streamId: number;
  increment: number;
}

export interface ContinuationFrame {
  type: typeof FrameType.CONTINUATION;
  streamId: number;
  endHeaders: boolean;
  headerBlock: Buffer;
}

/** A frame of a type this implementation does not know; RFC 9113 §4.1 says to ignore it. */
export interface UnknownFrame {
  type: 'unknown';
  frameType: number;
  streamId: number;
  flags: number;
  payload: Buffer;
}

export type Frame =
  | DataFrame
  | HeadersFrame
  | PriorityFrame
  | RstStreamFrame
  | SettingsFrame
  | PushPromiseFrame
  | PingFrame
  | GoAwayFrame
  | WindowUpdateFrame
  | ContinuationFrame
  | UnknownFrame;
