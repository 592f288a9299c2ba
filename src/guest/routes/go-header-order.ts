// Go's net/http writes a handler's header map sorted by name (then the server's own Transfer-Encoding,
// Date, Content-Length, Connection). Node writes headers in the order they were set. For responses whose
// headers are set by code that does not know the dialect (the image export), re-order them at writeHead.
import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';

/** Headers Go's server adds itself after the sorted map; kept last, in the order given. */
const SERVER_OWNED = new Set(['transfer-encoding']);

export function goSortedHeaders(res: ServerResponse): void {
  const writeHead = res.writeHead.bind(res) as (
    status: number,
    reason?: string,
    h?: OutgoingHttpHeaders,
  ) => ServerResponse;
  res.writeHead = ((status: number, a?: unknown, b?: unknown) => {
    const reason = typeof a === 'string' ? a : undefined;
    const given = (typeof a === 'string' ? b : a) as OutgoingHttpHeaders | undefined;
    const all: [string, NonNullable<OutgoingHttpHeaders[string]>][] = [];
    for (const name of (res as unknown as { getRawHeaderNames(): string[] }).getRawHeaderNames()) {
      if (/^(connection|date)$/i.test(name)) continue; // removing these changes what Node itself sends
      const v = res.getHeader(name);
      if (v !== undefined) all.push([name, v]);
      res.removeHeader(name);
    }
    for (const [name, v] of Object.entries(given ?? {})) if (v !== undefined) all.push([name, v]);
    const sorted = [
      ...all.filter(([n]) => !SERVER_OWNED.has(n.toLowerCase())).sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0)),
      ...all.filter(([n]) => SERVER_OWNED.has(n.toLowerCase())),
    ];
    return writeHead(status, reason, Object.fromEntries(sorted));
  }) as typeof res.writeHead;
}
