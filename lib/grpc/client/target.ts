import { promises as dns } from 'node:dns';
import { isIP } from 'node:net';

/** Where a connection goes: a TCP host and port, or a Unix domain socket path. */
export type Address = { host: string; port: number } | { path: string };

/** A parsed channel target (gRPC naming, doc/naming.md). */
export interface Target {
  /** How addresses are found: DNS lookup of `host`, a fixed list, or a socket path. */
  scheme: 'dns' | 'ipv4' | 'ipv6' | 'unix';
  /** dns: the name to resolve and its port. */
  host: string;
  port: number;
  /** ipv4/ipv6/unix: the addresses, already known. */
  addresses: Address[];
  /** The default :authority (host:port as written, or "localhost" for Unix sockets). */
  authority: string;
}

/** gRPC's default port when a target names none. */
const DEFAULT_PORT = 443;

/** Splits "host:port", "[v6]:port", "host" (default port) into its parts; throws when malformed. */
function splitHostPort(text: string, target: string, defaultPort: number | null = DEFAULT_PORT): { host: string; port: number } {
  let host: string;
  let portText: string | undefined;
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(text);
  if (bracketed !== null) {
    host = bracketed[1];
    portText = bracketed[2];
  } else {
    const colons = text.split(':').length - 1;
    if (colons > 1) {
      // A bare IPv6 address without a port.
      host = text;
    } else if (colons === 1) {
      const index = text.lastIndexOf(':');
      host = text.slice(0, index);
      portText = text.slice(index + 1);
      if (!/^\d+$/.test(portText)) throw new Error(`invalid port in target "${target}"`);
    } else {
      host = text;
    }
  }
  if (host.length === 0) throw new Error(`missing host in target "${target}"`);
  if (portText === undefined && defaultPort === null) throw new Error(`missing port in target "${target}"`);
  const port = portText === undefined ? defaultPort! : Number(portText);
  if (port > 65535) throw new Error(`invalid port in target "${target}"`);
  return { host, port };
}

/**
 * Parses a channel target: `host:port`, `dns:host:port`, `dns:///host:port` (every resolved
 * address), `ipv4:a:p,b:p`, `ipv6:[a]:p,[b]:p`, `unix:path`, `unix:///absolute/path`.
 */
export function parseTarget(target: string): Target {
  if (typeof target !== 'string' || target.length === 0) throw new TypeError('the channel target must be a non-empty string');
  if (target.startsWith('unix:')) {
    let path = target.slice('unix:'.length);
    if (path.startsWith('//')) {
      // unix:///absolute/path: an empty authority, then the absolute path.
      if (!path.startsWith('///')) throw new Error(`unix target "${target}" must be unix:path or unix:///absolute/path`);
      path = path.slice(2);
    }
    if (path.length === 0) throw new Error(`missing path in target "${target}"`);
    return { scheme: 'unix', host: '', port: 0, addresses: [{ path }], authority: 'localhost' };
  }
  for (const scheme of ['ipv4', 'ipv6'] as const) {
    if (!target.startsWith(`${scheme}:`)) continue;
    const list = target.slice(scheme.length + 1).split(',');
    const addresses = list.map((entry) => {
      const address = splitHostPort(entry.trim(), target);
      if (isIP(address.host) !== (scheme === 'ipv4' ? 4 : 6)) throw new Error(`"${entry}" is not an ${scheme} address in target "${target}"`);
      return address;
    });
    return { scheme, host: '', port: 0, addresses, authority: list[0].trim() };
  }
  let rest = target;
  if (rest.startsWith('dns:')) {
    rest = rest.slice('dns:'.length);
    if (rest.startsWith('//')) {
      // dns://[authority]/host:port: the DNS server authority is not supported.
      const slash = rest.indexOf('/', 2);
      if (slash !== 2) throw new Error(`target "${target}": a DNS server authority is not supported (use dns:///host:port)`);
      rest = rest.slice(3);
    }
  }
  const { host, port } = splitHostPort(rest, target);
  return { scheme: 'dns', host, port, addresses: [], authority: rest };
}

/** The target's addresses: a DNS lookup of every address of its host (IPv4 and IPv6), or the fixed list. */
export async function resolveTarget(target: Target): Promise<Address[]> {
  if (target.scheme !== 'dns') return target.addresses;
  if (isIP(target.host) !== 0) return [{ host: target.host, port: target.port }];
  const found = await dns.lookup(target.host, { all: true });
  if (found.length === 0) throw new Error(`DNS resolution of ${target.host} returned no address`);
  return found.map((entry) => ({ host: entry.address, port: target.port }));
}

/** The target's addresses without a DNS lookup (for a channel whose dialer does the connecting). */
export function unresolvedAddresses(target: Target): Address[] {
  return target.scheme === 'dns' ? [{ host: target.host, port: target.port }] : target.addresses;
}

/** "host:port", "[v6]:port" or the socket path. */
export function formatAddress(address: Address): string {
  if ('path' in address) return address.path;
  return isIP(address.host) === 6 ? `[${address.host}]:${address.port}` : `${address.host}:${address.port}`;
}
