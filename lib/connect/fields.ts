/**
 * Header fields between the transport's flat lists and the Fetch API's `Headers` that Connect's
 * universal handlers use. Pure: no stream, no I/O.
 */
import type { HeaderList, RequestHead } from '../transport';

/** The regular fields of a received header list as `Headers` (pseudo-headers left out), in order. */
export function headersFromList(list: HeaderList): Headers {
  const headers = new Headers();
  for (let index = 0; index < list.length; index += 2) {
    const name = list[index];
    // Pseudo-header fields (RFC 9113 §8.3) are the request head, not headers.
    if (name.charCodeAt(0) === 58 /* : */) continue;
    headers.append(name, list[index + 1]);
  }
  return headers;
}

/**
 * Appends `headers` to a header list to send. `Headers` already lowercases names (as HTTP/2
 * requires, RFC 9113 §8.2.1) and joins repeated fields with ", " (set-cookie stays one field each).
 */
export function appendHeaders(list: HeaderList, headers: Headers | undefined): HeaderList {
  if (headers === undefined) return list;
  for (const [name, value] of headers) list.push(name, value);
  return list;
}

/** Whether `headers` has at least one field. */
export function hasFields(headers: Headers | undefined): headers is Headers {
  if (headers === undefined) return false;
  for (const entry of headers.keys()) {
    void entry;
    return true;
  }
  return false;
}

/**
 * The request URL Connect expects (scheme, authority, path and query), from the pseudo-headers;
 * `host` stands in for a missing :authority (RFC 9113 §8.3.1). null when they make no valid URL.
 */
export function requestUrl(head: RequestHead, host: string | null): string | null {
  const scheme = head.scheme === '' ? 'http' : head.scheme;
  const authority = head.authority !== '' ? head.authority : (host ?? 'localhost');
  const url = `${scheme}://${authority}${head.path}`;
  return URL.canParse(url) ? url : null;
}

/** The path without its query, as routes are matched. */
export function routePath(path: string): string {
  const query = path.indexOf('?');
  return query === -1 ? path : path.slice(0, query);
}
