import type { ReceiveWindow } from '../flow-control';
import type { HeaderList, HeaderTemplate } from '../hpack/header-block';
import type { SettingEntry } from '../settings';

/**
 * What the writer tells a stream's owner, the only way it reaches back (grpc-go's onEachWrite):
 * items carry stream ids, the writer keeps its own per-stream records.
 */
export interface OutboundEvents {
  /** The stream was reset before the writer got to it: its HEADERS are not sent. */
  readonly isAborted: boolean;
  /** `bytes` of the stream's queued DATA reached the frame writer, completing `writes` of its data items. */
  onBytesWritten(bytes: number, writes: number): void;
  /** The stream's END_STREAM reached the frame writer. */
  onEndWritten(): void;
}

/**
 * Instructions for the LoopyWriter. Not HTTP/2 frames: some make it write a frame, some only change
 * its state (a new stream, a peer's WINDOW_UPDATE or SETTINGS). `next` links the ControlBuffer's
 * queue without a separate node allocation.
 */
interface ItemBase {
  next?: ControlItem | null;
}

/**
 * A peer opened a stream: loopy starts tracking its send window (grpc-go's registerStream). Made by
 * outbound-stream.ts's registerStream(): the writer's own record, which the writer adopts.
 */
export interface RegisterStreamItem extends ItemBase {
  kind: 'registerStream';
  streamId: number;
  events: OutboundEvents;
}

/**
 * Initial headers (request or response); with endStream they are the whole response
 * (trailers-only). A stream we open is registered with the writer by its headers.
 */
export interface HeadersItem extends ItemBase {
  kind: 'headers';
  streamId: number;
  events: OutboundEvents;
  /** Constant fields sent first, indexed through the connection's HPACK table. */
  template: HeaderTemplate | null;
  headers: HeaderList | null;
  endStream: boolean;
}

/** Message bytes for a stream; queued behind earlier data and subject to both send windows. */
export interface DataItem extends ItemBase {
  kind: 'data';
  streamId: number;
  data: Buffer;
  endStream: boolean;
}

/** Trailers: written after every queued DATA of the stream, with END_STREAM. */
export interface TrailersItem extends ItemBase {
  kind: 'trailers';
  streamId: number;
  template: HeaderTemplate | null;
  headers: HeaderList | null;
}

/**
 * We give the peer more window (stream 0 = connection). `window` is credited only when the frame is
 * written: a peer that sends without reading our frames runs out of window instead of being told
 * it has more (and so gets FLOW_CONTROL_ERROR if it keeps sending).
 */
export interface OutgoingWindowUpdateItem extends ItemBase {
  kind: 'outgoingWindowUpdate';
  streamId: number;
  increment: number;
  window?: ReceiveWindow | null;
}

/** The peer gave us more window. */
export interface IncomingWindowUpdateItem extends ItemBase {
  kind: 'incomingWindowUpdate';
  streamId: number;
  increment: number;
}

/** Our SETTINGS frame. */
export interface OutgoingSettingsItem extends ItemBase {
  kind: 'outgoingSettings';
  entries: SettingEntry[];
}

/** The peer's SETTINGS (already validated): apply, then ACK. A transport response. */
export interface IncomingSettingsItem extends ItemBase {
  kind: 'incomingSettings';
  entries: SettingEntry[];
}

/** A PING or PING ACK. An ACK is a transport response. */
export interface PingItem extends ItemBase {
  kind: 'ping';
  ack: boolean;
  data: Buffer;
}

/**
 * A stream is over for the writer: drop its queued data; with rstCode set, send RST_STREAM.
 * A reset caused by a peer's frame is a transport response (throttled).
 */
export interface CleanupStreamItem extends ItemBase {
  kind: 'cleanupStream';
  streamId: number;
  rstCode: number | null;
  responseToPeer: boolean;
}

export interface GoAwayItem extends ItemBase {
  kind: 'goAway';
  lastStreamId: number;
  errorCode: number;
  debugData: Buffer;
  /** Close the socket once this GOAWAY is flushed. */
  closeConnection: boolean;
}

/** Raw, pre-encoded frames: used to send a frame this writer has no item for (tests, extensions). */
export interface RawFramesItem extends ItemBase {
  kind: 'rawFrames';
  bytes: Buffer;
}

export type ControlItem =
  | RegisterStreamItem
  | HeadersItem
  | DataItem
  | TrailersItem
  | OutgoingWindowUpdateItem
  | IncomingWindowUpdateItem
  | OutgoingSettingsItem
  | IncomingSettingsItem
  | PingItem
  | CleanupStreamItem
  | GoAwayItem
  | RawFramesItem;

/*
 * Makers for the items every call queues. Each literal lists `next`, so the ControlBuffer linking
 * it does not add a property (which would allocate a property array per item), and every item of
 * a kind has the same shape.
 */

export function headersItem(
  streamId: number,
  events: OutboundEvents,
  template: HeaderTemplate | null,
  headers: HeaderList | null,
  endStream: boolean,
): HeadersItem {
  return { kind: 'headers', streamId, events, template, headers, endStream, next: null };
}

export function dataItem(streamId: number, data: Buffer, endStream: boolean): DataItem {
  return { kind: 'data', streamId, data, endStream, next: null };
}

export function trailersItem(streamId: number, template: HeaderTemplate | null, headers: HeaderList | null): TrailersItem {
  return { kind: 'trailers', streamId, template, headers, next: null };
}

export function cleanupStreamItem(streamId: number, rstCode: number | null, responseToPeer: boolean): CleanupStreamItem {
  return { kind: 'cleanupStream', streamId, rstCode, responseToPeer, next: null };
}

/** Our WINDOW_UPDATE; `window` (when given) is credited once the frame is written. */
export function outgoingWindowUpdateItem(streamId: number, increment: number, window: ReceiveWindow | null): OutgoingWindowUpdateItem {
  return { kind: 'outgoingWindowUpdate', streamId, increment, window, next: null };
}

export function incomingWindowUpdateItem(streamId: number, increment: number): IncomingWindowUpdateItem {
  return { kind: 'incomingWindowUpdate', streamId, increment, next: null };
}

/**
 * A transport response is an item the peer's frames caused (SETTINGS ACK, PING ACK, its window
 * updates and ours for its data, resets it caused or sent). Too many queued means the peer sends
 * faster than it reads: the reader pauses.
 */
export function isTransportResponse(item: ControlItem): boolean {
  switch (item.kind) {
    case 'incomingSettings':
    case 'incomingWindowUpdate':
    case 'outgoingWindowUpdate':
      return true;
    case 'ping':
      return item.ack;
    case 'cleanupStream':
      return item.responseToPeer;
    default:
      return false;
  }
}
