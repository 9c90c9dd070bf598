import { ConnectionError, ErrorCode } from './errors';

/** SETTINGS parameter identifiers, RFC 9113 §6.5.2. */
export const SettingId = {
  HEADER_TABLE_SIZE: 0x1,
  ENABLE_PUSH: 0x2,
  MAX_CONCURRENT_STREAMS: 0x3,
  INITIAL_WINDOW_SIZE: 0x4,
  MAX_FRAME_SIZE: 0x5,
  MAX_HEADER_LIST_SIZE: 0x6,
} as const;

/** The largest flow-control window (RFC 9113 §6.9.1). */
export const MAX_WINDOW_SIZE = 2 ** 31 - 1;
/** The initial window of every stream and the connection (RFC 9113 §6.9.2). */
export const DEFAULT_WINDOW_SIZE = 65535;
/** The smallest (and initial) SETTINGS_MAX_FRAME_SIZE. */
export const MIN_MAX_FRAME_SIZE = 16384;
/** The largest SETTINGS_MAX_FRAME_SIZE allowed. */
export const MAX_MAX_FRAME_SIZE = 2 ** 24 - 1;

/** The six SETTINGS of RFC 9113 §6.5.2, as values. */
export interface Settings {
  /** SETTINGS_HEADER_TABLE_SIZE: the HPACK dynamic table the decoder allows. */
  headerTableSize: number;
  /** SETTINGS_ENABLE_PUSH (always false here: we neither send nor accept push). */
  enablePush: boolean;
  /** Infinity when the peer sets no limit. */
  maxConcurrentStreams: number;
  /** SETTINGS_INITIAL_WINDOW_SIZE: each stream's starting window. */
  initialWindowSize: number;
  /** SETTINGS_MAX_FRAME_SIZE: the largest frame payload the sender accepts. */
  maxFrameSize: number;
  /** Infinity when the peer sets no limit. */
  maxHeaderListSize: number;
}

/** The values every endpoint starts with, before any SETTINGS frame (RFC 9113 §6.5.2). */
export function defaultSettings(): Settings {
  return {
    headerTableSize: 4096,
    enablePush: true,
    maxConcurrentStreams: Infinity,
    initialWindowSize: DEFAULT_WINDOW_SIZE,
    maxFrameSize: MIN_MAX_FRAME_SIZE,
    maxHeaderListSize: Infinity,
  };
}

/** One id/value pair as carried on the wire. */
export interface SettingEntry {
  id: number;
  value: number;
}

/**
 * Applies received SETTINGS entries to `settings`, validating each (RFC 9113 §6.5.2).
 * Unknown identifiers are ignored, as the RFC requires.
 */
export function applySettings(settings: Settings, entries: readonly SettingEntry[]): void {
  for (const { id, value } of entries) {
    switch (id) {
      case SettingId.HEADER_TABLE_SIZE:
        settings.headerTableSize = value;
        break;
      case SettingId.ENABLE_PUSH:
        // Any value other than 0 or 1 MUST be treated as a connection error of type PROTOCOL_ERROR.
        if (value !== 0 && value !== 1) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, `ENABLE_PUSH ${value}`);
        settings.enablePush = value === 1;
        break;
      case SettingId.MAX_CONCURRENT_STREAMS:
        settings.maxConcurrentStreams = value;
        break;
      case SettingId.INITIAL_WINDOW_SIZE:
        // Values above the maximum flow-control window size of 2^31-1 MUST be treated as a
        // connection error of type FLOW_CONTROL_ERROR.
        if (value > MAX_WINDOW_SIZE) throw new ConnectionError(ErrorCode.FLOW_CONTROL_ERROR, `INITIAL_WINDOW_SIZE ${value}`);
        settings.initialWindowSize = value;
        break;
      case SettingId.MAX_FRAME_SIZE:
        // Values outside 2^14..2^24-1 MUST be treated as a connection error of type PROTOCOL_ERROR.
        if (value < MIN_MAX_FRAME_SIZE || value > MAX_MAX_FRAME_SIZE) {
          throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, `MAX_FRAME_SIZE ${value}`);
        }
        settings.maxFrameSize = value;
        break;
      case SettingId.MAX_HEADER_LIST_SIZE:
        settings.maxHeaderListSize = value;
        break;
      default:
        break;
    }
  }
}

/** The entries that differ from the protocol defaults, for our initial SETTINGS frame. */
export function settingsToEntries(settings: Settings): SettingEntry[] {
  const defaults = defaultSettings();
  const entries: SettingEntry[] = [];
  if (settings.headerTableSize !== defaults.headerTableSize) entries.push({ id: SettingId.HEADER_TABLE_SIZE, value: settings.headerTableSize });
  if (settings.enablePush !== defaults.enablePush) entries.push({ id: SettingId.ENABLE_PUSH, value: settings.enablePush ? 1 : 0 });
  if (Number.isFinite(settings.maxConcurrentStreams)) entries.push({ id: SettingId.MAX_CONCURRENT_STREAMS, value: settings.maxConcurrentStreams });
  if (settings.initialWindowSize !== defaults.initialWindowSize) entries.push({ id: SettingId.INITIAL_WINDOW_SIZE, value: settings.initialWindowSize });
  if (settings.maxFrameSize !== defaults.maxFrameSize) entries.push({ id: SettingId.MAX_FRAME_SIZE, value: settings.maxFrameSize });
  if (Number.isFinite(settings.maxHeaderListSize)) entries.push({ id: SettingId.MAX_HEADER_LIST_SIZE, value: settings.maxHeaderListSize });
  return entries;
}
