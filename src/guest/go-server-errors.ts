// Requests Go's net/http server refuses before any handler runs (LXD's devlxd and Incus's guest API are
// Go servers), answered with Go's exact bytes: status line, two headers, the status as body, no Date. Pure.
import type { IncomingMessage } from 'node:http';

const ERROR_HEADERS = '\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n';
const goError = (status: string): string => `HTTP/1.1 ${status}${ERROR_HEADERS}${status}`;

/** A `%` not followed by two hex digits: url.ParseRequestURI fails (the query is not checked). */
const BAD_ESCAPE = /%(?![0-9A-Fa-f]{2})/;

/** The raw response Go's server would send instead of calling the handler, or undefined. */
export function goServerReject(
  req: Pick<IncomingMessage, 'url' | 'headers' | 'httpVersionMajor' | 'httpVersionMinor'>,
): string | undefined {
  const target = req.url ?? '';
  const q = target.indexOf('?');
  if (BAD_ESCAPE.test(q < 0 ? target : target.slice(0, q))) return goError('400 Bad Request');
  const atLeast11 = req.httpVersionMajor > 1 || (req.httpVersionMajor === 1 && req.httpVersionMinor >= 1);
  if (atLeast11 && req.headers.host === undefined) return goError('400 Bad Request: missing required Host header');
  if (req.httpVersionMajor !== 1) return goError('505 HTTP Version Not Supported: unsupported protocol version');
  return undefined;
}
