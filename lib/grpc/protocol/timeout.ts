/**
 * grpc-timeout (PROTOCOL-HTTP2.md): TimeoutValue is at most 8 ASCII digits, TimeoutUnit one of
 * H M S m u n. Returns milliseconds, or null when malformed.
 */
export function parseTimeout(value: string): number | null {
  const match = /^(\d{1,8})([HMSmun])$/.exec(value);
  if (match === null) return null;
  const amount = Number(match[1]);
  switch (match[2]) {
    case 'H':
      return amount * 3_600_000;
    case 'M':
      return amount * 60_000;
    case 'S':
      return amount * 1000;
    case 'm':
      return amount;
    case 'u':
      return amount / 1000;
    case 'n':
      return amount / 1_000_000;
    default:
      return null;
  }
}

/** Formats a timeout in ms with the finest unit that keeps the value within 8 digits. */
export function formatTimeout(milliseconds: number): string {
  if (Number.isNaN(milliseconds)) throw new RangeError('timeout is NaN');
  const ms = Math.max(0, Math.ceil(milliseconds));
  if (ms < 1e8) return `${ms}m`;
  const seconds = Math.ceil(ms / 1000);
  if (seconds < 1e8) return `${seconds}S`;
  const minutes = Math.ceil(seconds / 60);
  if (minutes < 1e8) return `${minutes}M`;
  return `${Math.min(99_999_999, Math.ceil(minutes / 60))}H`;
}
