import { lookup } from 'node:dns/promises';
import { isIP, isIPv4, isIPv6, type ListenOptions, type Server as NetServer } from 'node:net';

/**
 * bindAsync's address strings, read as grpc-js reads them (its uri-parser and resolvers):
 * `host:port`, `[v6]:port`, `dns:host:port`, `dns:///host:port`, `ipv4:a.b.c.d:port[,...]`,
 * `ipv6:[::1]:port[,...]`, `unix:relative/path`, `unix:///absolute/path`. A string without a
 * known scheme is a DNS name (so `localhost:0` and `0.0.0.0:0` are `dns:` targets).
 */
export interface BindTarget {
  scheme: 'dns' | 'ipv4' | 'ipv6' | 'unix';
  authority: string | undefined;
  path: string;
}

/** Where to listen: a TCP address or a Unix socket path (node:net's listen options). */
export type ListenAddress = { host: string; port: number } | { path: string };

const URI = /^(?:([A-Za-z0-9+.-]+):)?(?:\/\/([^/]*)\/)?(.+)$/;
const SCHEMES = new Set(['dns', 'ipv4', 'ipv6', 'unix']);
const DIGITS = /^\d+$/;
/** The port a target without one gets (grpc-js's resolvers: 443). */
const DEFAULT_PORT = 443;
/** The port bindAsync reports for a Unix socket (grpc-js: 1). */
const UNIX_SOCKET_PORT = 1;

/** Parses a bindAsync address; throws as grpc-js does for one it cannot read. */
export function parseBindTarget(address: string): BindTarget {
  const match = URI.exec(address);
  if (match === null) throw new Error(`Could not parse port "${address}"`);
  const [, scheme, authority, path] = match;
  if (scheme !== undefined && SCHEMES.has(scheme)) return { scheme: scheme as BindTarget['scheme'], authority, path };
  return { scheme: 'dns', authority: undefined, path: address };
}

/** The canonical spelling of a target: the key of a server's bound-ports map. */
export function targetKey(target: BindTarget): string {
  return `${target.scheme}:${target.authority === undefined ? '' : `//${target.authority}/`}${target.path}`;
}

/** Splits "host:port", "[v6]:port", "host" or a bare IPv6 address (grpc-js's splitHostPort). */
export function splitHostPort(path: string): { host: string; port?: number } | null {
  if (path.startsWith('[')) {
    const end = path.indexOf(']');
    if (end === -1) return null;
    const host = path.slice(1, end);
    if (!host.includes(':')) return null;
    if (path.length === end + 1) return { host };
    if (path[end + 1] !== ':' || !DIGITS.test(path.slice(end + 2))) return null;
    return { host, port: Number(path.slice(end + 2)) };
  }
  const parts = path.split(':');
  if (parts.length !== 2) return { host: path };
  return DIGITS.test(parts[1]) ? { host: parts[0], port: Number(parts[1]) } : null;
}

/** "host:port", bracketing IPv6 hosts. */
function joinHostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** Whether the target asks for any free port (port 0), whose key is known only once bound. */
export function asksForAnyPort(target: BindTarget): boolean {
  return target.scheme !== 'unix' && splitHostPort(target.path)?.port === 0;
}

/** The target with port 0 replaced by the port actually bound. */
export function withPort(target: BindTarget, port: number): BindTarget {
  const hostPort = splitHostPort(target.path);
  return hostPort === null ? target : { ...target, path: joinHostPort(hostPort.host, port) };
}

/** The addresses to listen on: a DNS name may stand for several (as grpc-js, each is bound). */
export async function resolveBindTarget(target: BindTarget): Promise<ListenAddress[]> {
  if (target.scheme === 'unix') return [{ path: target.authority === '' ? `/${target.path}` : target.path }];
  if (target.scheme === 'dns') {
    const hostPort = splitHostPort(target.path);
    if (hostPort === null) throw new Error(`Failed to parse DNS address ${targetKey(target)}`);
    const port = hostPort.port ?? DEFAULT_PORT;
    if (isIP(hostPort.host) !== 0) return [{ host: hostPort.host, port }];
    try {
      const found = await lookup(hostPort.host, { all: true });
      if (found.length > 0) return found.map(({ address }) => ({ host: address, port }));
    } catch {
      // reported below, as grpc-js reports a failed resolution
    }
    throw new Error(`Name resolution failed for target ${targetKey(target)}`);
  }
  const check = target.scheme === 'ipv4' ? isIPv4 : isIPv6;
  return target.path.split(',').map((item) => {
    const hostPort = splitHostPort(item);
    if (hostPort === null || !check(hostPort.host)) throw new Error(`Failed to parse ${target.scheme} address ${item}`);
    return { host: hostPort.host, port: hostPort.port ?? DEFAULT_PORT };
  });
}

/** Starts one listener; resolves with its port (or an error message, as grpc-js collects them). */
function listenOne(listener: NetServer, address: ListenAddress): Promise<{ port: number; error?: string }> {
  return new Promise((resolve) => {
    const onError = (error: Error) => resolve({ port: 'port' in address ? address.port : UNIX_SOCKET_PORT, error: error.message });
    listener.once('error', onError);
    listener.listen(address as ListenOptions, () => {
      listener.off('error', onError);
      const bound = listener.address();
      resolve({ port: bound !== null && typeof bound === 'object' ? bound.port : UNIX_SOCKET_PORT });
    });
  });
}

/**
 * Listens on every address with a listener from `create` and resolves with the port; for port 0
 * the first address picks the port and the others use it (grpc-js's bindManyPorts). Fails only
 * when no address could be bound; listeners that failed are closed.
 */
export async function listenOnAll(addresses: ListenAddress[], create: () => NetServer): Promise<{ port: number; listeners: NetServer[] }> {
  const listeners: NetServer[] = [];
  const errors: string[] = [];
  const attempt = async (address: ListenAddress) => {
    const listener = create();
    const result = await listenOne(listener, address);
    if (result.error === undefined) listeners.push(listener);
    else {
      errors.push(result.error);
      listener.close();
    }
    return result;
  };
  let port = 0;
  let rest = addresses;
  const first = addresses[0];
  if (first !== undefined && 'port' in first && first.port === 0) {
    // Try addresses one at a time until one picks a port; the rest then take that port.
    while (rest.length > 0 && port === 0) {
      const result = await attempt(rest[0]);
      if (result.error === undefined) port = result.port;
      rest = rest.slice(1);
    }
    rest = rest.map((address) => ('port' in address ? { host: address.host, port } : address));
    await Promise.all(rest.map(attempt));
  } else {
    const results = await Promise.all(addresses.map(attempt));
    port = results[0]?.port ?? 0;
  }
  if (listeners.length === 0) throw new Error(`No address added out of total ${addresses.length} resolved errors: [${errors.join(',')}]`);
  return { port, listeners };
}
