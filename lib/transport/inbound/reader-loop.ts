import { ConnectionError, ErrorCode, StreamError } from '../errors';
import type { ReceiveWindow } from '../flow-control';
import type { Frame, GoAwayFrame, HeadersFrame, PingFrame, RstStreamFrame, SettingsFrame, WindowUpdateFrame } from '../frame/frame';
import { FrameType } from '../frame/frame-type';
import type { HeaderBlockDecoder, HeaderList } from '../hpack/header-block';
import { checkTrailers, parseRequestHead, parseResponseHead, type RequestHead, type ResponseHead } from '../http/message-head';
import type { ControlItem } from '../outbound/control-item';
import type { Peer } from '../connection/peer';
import { applySettings, type Settings } from '../settings';
import type { Http2Stream } from '../stream/http2-stream';
import { remoteCanSend } from '../stream/stream-state';
import type { StreamRegistry } from '../stream/stream-registry';
import type { FrameSink } from './frame-reader';

/** What the reader loop needs from its connection. */
export interface ReaderHost {
  readonly peer: Peer;
  readonly registry: StreamRegistry;
  readonly decoder: HeaderBlockDecoder;
  readonly localSettings: Settings;
  /** The peer's settings as validated so far (the writer applies its own copy). */
  readonly peerSettings: Settings;
  readonly connectionReceiveWindow: ReceiveWindow;
  put(item: ControlItem): boolean;
  /** Server: the peer opened a stream with this validated request (head null: headers truncated). */
  openPeerStream(id: number, headers: HeaderList, endStream: boolean, head: RequestHead | null): void;
  /** Client: validated response headers for one of our streams (the first final HEADERS). */
  receiveResponseHeaders(stream: Http2Stream, headers: HeaderList, endStream: boolean, head: ResponseHead): void;
  /** Resets a stream because of a frame the peer sent (RFC 9113 §5.4.2); spends the reset budget. */
  streamError(error: StreamError): void;
  /** Charges one reset the peer sent or caused; throws ConnectionError(ENHANCE_YOUR_CALM) when the budget is spent. */
  spendReset(): void;
  /** Charges one frame that does nothing useful; throws ConnectionError(ENHANCE_YOUR_CALM) when the budget is spent. */
  spendInvalidFrame(): void;
  connectionError(error: ConnectionError): void;
  receiveGoAway(frame: GoAwayFrame): void;
  /** The peer sent a PING; throws ConnectionError(ENHANCE_YOUR_CALM) when it pings too often. */
  receivePing(): void;
  receivePingAck(data: Buffer): void;
  /** The peer's SETTINGS (not an ACK) arrived and were applied. */
  receiveSettings(): void;
  receiveSettingsAck(): void;
}

/**
 * Dispatches each parsed frame (the middle of the read path, grpc-go's HandleStreams loop): checks
 * it against stream state, keeps inbound flow control, hands data to streams' RecvBuffers and
 * turns SETTINGS, PING, WINDOW_UPDATE into ControlBuffer items for the writer.
 */
export class ReaderLoop implements FrameSink {
  constructor(private readonly host: ReaderHost) {}

  onStreamError(error: StreamError): void {
    this.host.streamError(error);
  }

  onConnectionError(error: ConnectionError): void {
    this.host.connectionError(error);
  }

  onFrame(frame: Frame): void {
    try {
      switch (frame.type) {
        case FrameType.DATA:
          return this.onDataFrame(frame.streamId, frame.data, frame.endStream, frame.flowControlLength);
        case FrameType.HEADERS:
          return this.onHeaders(frame);
        case FrameType.PRIORITY:
          // Deprecated (RFC 9113 §5.3.2): parsed for validity, otherwise ignored, within a budget.
          return this.host.spendInvalidFrame();
        case FrameType.RST_STREAM:
          return this.onRstStream(frame);
        case FrameType.SETTINGS:
          return this.onSettings(frame);
        case FrameType.PUSH_PROMISE:
          // A server MUST NOT receive PUSH_PROMISE; a client that disabled push treats it as a
          // connection error of type PROTOCOL_ERROR (RFC 9113 §6.6, §8.4). We never enable push.
          throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, 'PUSH_PROMISE not allowed');
        case FrameType.PING:
          return this.onPing(frame);
        case FrameType.GOAWAY:
          return this.host.receiveGoAway(frame);
        case FrameType.WINDOW_UPDATE:
          return this.onWindowUpdate(frame);
        case FrameType.CONTINUATION:
          // The frame reader joins CONTINUATIONs into their HEADERS; a stray one never gets here.
          throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, 'unexpected CONTINUATION');
        case 'unknown':
          // Unknown types MUST be ignored (RFC 9113 §5.5), but a flood of them is abuse.
          return this.host.spendInvalidFrame();
      }
    } catch (error) {
      this.onError(error);
    }
  }

  private onError(error: unknown): void {
    if (error instanceof StreamError) this.host.streamError(error);
    else if (error instanceof ConnectionError) this.host.connectionError(error);
    else throw error;
  }

  /** A DATA frame (the frame reader's fast path, without a frame object). */
  onDataFrame(streamId: number, data: Buffer, endStream: boolean, flowControlLength: number): void {
    try {
      this.onData(streamId, data, endStream, flowControlLength);
    } catch (error) {
      this.onError(error);
    }
  }

  private onData(streamId: number, data: Buffer, endStream: boolean, length: number): void {
    const { registry, connectionReceiveWindow } = this.host;
    if (length === 0 && !endStream) this.host.spendInvalidFrame();
    // The connection window covers every DATA frame, whatever state its stream is in (RFC 9113 §6.9).
    if (!connectionReceiveWindow.onData(length)) {
      throw new ConnectionError(ErrorCode.FLOW_CONTROL_ERROR, 'peer exceeded the connection window');
    }
    // The connection window is returned on receipt (grpc-go's trInFlow): stream windows bound
    // what each stream can hold, and one slow stream must not stall the others.
    this.returnConnectionWindow(length);
    const stream = registry.get(streamId);
    if (stream === undefined) {
      // DATA on an idle stream is a connection error of type PROTOCOL_ERROR (RFC 9113 §5.1).
      if (this.isIdle(streamId)) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, `DATA on idle stream ${streamId}`);
      // Frames the peer sent before it saw our RST_STREAM are ignored (§5.1 "closed").
      if (registry.wasRecentlyReset(streamId)) return;
      throw new StreamError(streamId, ErrorCode.STREAM_CLOSED, 'DATA on closed stream');
    }
    // A stream that is not "open" or "half-closed (local)" MUST answer DATA with a stream error
    // of type STREAM_CLOSED (RFC 9113 §6.1).
    if (!remoteCanSend(stream.state) || stream.remoteEnded) {
      throw new StreamError(streamId, ErrorCode.STREAM_CLOSED, 'DATA after END_STREAM');
    }
    // A response starts with its HEADERS (RFC 9113 §8.1): DATA before them is malformed.
    if (stream.isLocal && !stream.responseHeadersReceived) throw new StreamError(streamId, ErrorCode.PROTOCOL_ERROR, 'DATA before the response HEADERS');
    if (!stream.receiveWindow.onData(length)) {
      throw new StreamError(streamId, ErrorCode.FLOW_CONTROL_ERROR, 'peer exceeded the stream window');
    }
    if (stream.expectedLength >= 0) {
      // A content-length that does not equal the sum of the DATA payload lengths makes the
      // message malformed (RFC 9113 §8.1.1).
      stream.receivedLength += data.length;
      if (stream.receivedLength > stream.expectedLength || (endStream && stream.receivedLength !== stream.expectedLength)) {
        throw new StreamError(
          streamId,
          ErrorCode.PROTOCOL_ERROR,
          `content-length ${stream.expectedLength} but ${stream.receivedLength}${endStream ? '' : '+'} bytes of DATA`,
        );
      }
    }
    const padding = length - data.length;
    if (padding > 0) {
      // Padding is consumed on arrival; only the data is left for the application to take.
      const increment = stream.receiveWindow.onConsumed(padding);
      if (increment > 0 && !endStream) this.putWindowUpdate(stream.id, increment, stream.receiveWindow);
    }
    stream.receiveData(data, endStream);
  }

  private returnConnectionWindow(length: number): void {
    const window = this.host.connectionReceiveWindow;
    const increment = window.onConsumed(length);
    if (increment > 0) this.putWindowUpdate(0, increment, window);
  }

  private putWindowUpdate(streamId: number, increment: number, window: ReceiveWindow): void {
    this.host.put({ kind: 'outgoingWindowUpdate', streamId, increment, window, next: null });
  }

  private isIdle(streamId: number): boolean {
    const { registry } = this.host;
    return registry.isIdlePeerStream(streamId) || registry.isIdleLocalStream(streamId);
  }

  private onHeaders(frame: HeadersFrame): void {
    const { registry, decoder, localSettings, peer } = this.host;
    // Decode first, whatever happens to the stream: the HPACK table must stay in sync (RFC 9113 §4.3).
    let decoded;
    try {
      decoded = decoder.decode(frame.headerBlock, localSettings.maxHeaderListSize);
    } catch (error) {
      if (error instanceof ConnectionError) throw error;
      throw new ConnectionError(ErrorCode.COMPRESSION_ERROR, String(error));
    }
    const id = frame.streamId;
    if (frame.priority !== undefined && frame.priority.dependsOn === id) {
      // The stream is opened (ids only increase, §5.1.1) and reset at once (§5.3.1) — if the peer
      // may open streams at all (a server may not, §8.4).
      if (registry.isIdlePeerStream(id)) {
        if (!peer.remoteOpensStreams) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, `server opened stream ${id}`);
        registry.openedByPeer(id);
      }
      throw new StreamError(id, ErrorCode.PROTOCOL_ERROR, 'stream depends on itself');
    }
    const stream = registry.get(id);
    if (stream === undefined) {
      if (registry.isPeerInitiated(id)) {
        if (id > registry.lastPeerStreamId) {
          // A client never enables push: a server cannot open streams (RFC 9113 §8.4).
          if (!peer.remoteOpensStreams) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, `server opened stream ${id}`);
          registry.openedByPeer(id);
          let head: RequestHead | null = null;
          if (!decoded.oversized) {
            const parsed = parseRequestHead(decoded.headers);
            // A malformed request is a stream error of type PROTOCOL_ERROR (RFC 9113 §8.1.1).
            if (typeof parsed === 'string') throw new StreamError(id, ErrorCode.PROTOCOL_ERROR, parsed);
            if (frame.endStream && parsed.contentLength > 0)
              throw new StreamError(id, ErrorCode.PROTOCOL_ERROR, `content-length ${parsed.contentLength} without DATA`);
            head = parsed;
          }
          this.host.openPeerStream(id, decoded.headers, frame.endStream, head);
          return;
        }
        if (registry.wasRecentlyReset(id)) return;
        // HEADERS on a stream that was opened and has closed: STREAM_CLOSED (RFC 9113 §5.1).
        if (registry.wasOpenedByPeer(id)) throw new ConnectionError(ErrorCode.STREAM_CLOSED, `HEADERS on closed stream ${id}`);
        // A new stream id MUST be greater than all the peer has opened; an unexpected stream
        // identifier is a connection error of type PROTOCOL_ERROR (RFC 9113 §5.1.1).
        throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, `stream id ${id} is lower than ${registry.lastPeerStreamId}`);
      }
      // Streams initiated by a client MUST use odd-numbered identifiers (RFC 9113 §5.1.1).
      if (peer.remoteOpensStreams) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, `client used even stream id ${id}`);
      if (registry.wasRecentlyReset(id)) return;
      throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, `HEADERS on unknown stream ${id}`);
    }
    if (!remoteCanSend(stream.state) || stream.remoteEnded) {
      throw new StreamError(id, ErrorCode.STREAM_CLOSED, 'HEADERS after END_STREAM');
    }
    // On a stream we opened, the first HEADERS is the response (RFC 9113 §8.1).
    // A response head or trailers cut short by our SETTINGS_MAX_HEADER_LIST_SIZE would lose fields
    // (:status, grpc-status): the response is malformed, as grpc-go's client treats it.
    if (stream.isLocal && decoded.oversized) throw new StreamError(id, ErrorCode.PROTOCOL_ERROR, 'response header list exceeds the size limit');
    if (stream.isLocal && !stream.responseHeadersReceived) {
      const head = parseResponseHead(decoded.headers);
      if (typeof head === 'string') throw new StreamError(id, ErrorCode.PROTOCOL_ERROR, head);
      if (head.status < 200) {
        // Interim responses (1xx) precede the final one; 101 is not allowed in HTTP/2 (RFC 9113 §8.6),
        // and an interim response cannot end the stream (§8.1).
        if (head.status === 101 || frame.endStream) throw new StreamError(id, ErrorCode.PROTOCOL_ERROR, `interim response ${head.status}`);
        return;
      }
      // Responses to HEAD and 204/304 carry a content-length without content (RFC 9110 §8.6).
      if (head.status !== 204 && head.status !== 304 && !isHeadRequest(stream.headers)) stream.expectedLength = head.contentLength;
      if (frame.endStream && stream.expectedLength > 0)
        throw new StreamError(id, ErrorCode.PROTOCOL_ERROR, `content-length ${stream.expectedLength} without DATA`);
      this.host.receiveResponseHeaders(stream, decoded.headers, frame.endStream, head);
      return;
    }
    // A second HEADERS is the trailer section; it MUST end the stream (RFC 9113 §8.1) and carry no
    // pseudo-header fields.
    if (!frame.endStream) throw new StreamError(id, ErrorCode.PROTOCOL_ERROR, 'trailers without END_STREAM');
    if (!decoded.oversized) {
      const problem = checkTrailers(decoded.headers);
      if (problem !== null) throw new StreamError(id, ErrorCode.PROTOCOL_ERROR, problem);
    }
    if (stream.expectedLength >= 0 && stream.receivedLength !== stream.expectedLength) {
      throw new StreamError(id, ErrorCode.PROTOCOL_ERROR, `content-length ${stream.expectedLength} but ${stream.receivedLength} bytes of DATA`);
    }
    stream.receiveEnd(decoded.headers);
  }

  private onRstStream(frame: RstStreamFrame): void {
    const stream = this.host.registry.get(frame.streamId);
    if (stream === undefined) {
      // RST_STREAM on an idle stream is a connection error of type PROTOCOL_ERROR (RFC 9113 §6.4).
      if (this.isIdle(frame.streamId)) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, `RST_STREAM on idle stream ${frame.streamId}`);
      this.host.spendInvalidFrame();
      return;
    }
    this.host.spendReset();
    // Items list `next` so queuing them does not reshape them (outbound/control-item.ts's makers).
    this.host.put({ kind: 'cleanupStream', streamId: stream.id, rstCode: null, responseToPeer: true, next: null });
    stream.receiveReset(frame.errorCode, 'remote');
  }

  private onSettings(frame: SettingsFrame): void {
    if (frame.ack) {
      this.host.receiveSettingsAck();
      return;
    }
    applySettings(this.host.peerSettings, frame.entries);
    this.host.put({ kind: 'incomingSettings', entries: frame.entries });
    this.host.receiveSettings();
  }

  private onPing(frame: PingFrame): void {
    if (frame.ack) {
      this.host.receivePingAck(frame.data);
      return;
    }
    this.host.receivePing();
    // Receivers of a PING without ACK MUST send one with ACK and the identical payload (RFC 9113 §6.7).
    this.host.put({ kind: 'ping', ack: true, data: Buffer.from(frame.data) });
  }

  private onWindowUpdate(frame: WindowUpdateFrame): void {
    if (frame.streamId !== 0 && this.host.registry.get(frame.streamId) === undefined && this.isIdle(frame.streamId)) {
      throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, `WINDOW_UPDATE on idle stream ${frame.streamId}`);
    }
    this.host.put({ kind: 'incomingWindowUpdate', streamId: frame.streamId, increment: frame.increment, next: null });
  }
}

function isHeadRequest(headers: HeaderList): boolean {
  for (let index = 0; index < headers.length; index += 2) if (headers[index] === ':method') return headers[index + 1] === 'HEAD';
  return false;
}
