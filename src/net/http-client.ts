// Minimal HTTP client for upstreams: over a unix socket (LXD's unix.socket) or http(s) with an
// optional client certificate. Returns the response with its body unread (the caller streams it).
import http from 'node:http';
import https from 'node:https';
import { GuestgateError } from '../errors.ts';
import { type AlignedSlabs, streamGetUnix, type StreamResponse } from './http-client-stream.ts';
import { loadTlsFiles } from './tls.ts';

export interface Endpoint {
  /** Unix socket path; or `url` (http:// or https://). */
  readonly socket?: string | undefined;
  readonly url?: string | undefined;
  readonly clientCert?: string | undefined;
  readonly clientKey?: string | undefined;
  /** PEM of the server certificate (or its CA) to trust instead of the system store. */
  readonly serverCert?: string | undefined;
  /** Deadlines (ms; absent: none): connecting, the response head after the request, and between body bytes. */
  readonly timeouts?: UpstreamTimeouts | undefined;
}

export interface UpstreamTimeouts {
  readonly connectMs: number;
  readonly firstByteMs: number;
  readonly idleMs: number;
}

export interface HttpClient {
  get(path: string, signal?: AbortSignal): Promise<http.IncomingMessage>;
  /** A GET with a big body read once (image exports): over a unix socket without node:http's per-64 KiB costs. */
  stream(path: string, signal?: AbortSignal, slabs?: AlignedSlabs): Promise<StreamResponse>;
  getJson(path: string, signal?: AbortSignal): Promise<{ status: number; body: unknown }>;
  /** Any method with an optional JSON body; the response parsed as JSON (or text). */
  send(
    method: string,
    path: string,
    body?: unknown,
    signal?: AbortSignal,
    headers?: Readonly<Record<string, string>>,
  ): Promise<{ status: number; body: unknown; etag?: string | undefined }>;
  readonly where: string;
  /** How the endpoint is reached (socket, or base URL and TLS material), for other clients (websockets). */
  readonly endpoint: Endpoint;
  close(): void;
}

const MAX_JSON = 64 * 1024 * 1024;

export function httpClient(ep: Endpoint): HttpClient {
  const base = ep.url ? new URL(ep.url.endsWith('/') ? ep.url : `${ep.url}/`) : undefined;
  const tls = base?.protocol === 'https:';
  const agentOpts = { keepAlive: true, maxSockets: 16 };
  const agent = tls
    ? new https.Agent({
        ...agentOpts,
        ...loadTlsFiles({ cert: ep.clientCert, key: ep.clientKey, ca: ep.serverCert }),
      })
    : new http.Agent(agentOpts);
  const where = ep.socket ? `unix:${ep.socket}` : (base?.href ?? '?');

  function get(path: string, signal?: AbortSignal): Promise<http.IncomingMessage> {
    return request('GET', path, undefined, signal);
  }

  function request(
    method: string,
    path: string,
    body: Buffer | undefined,
    signal?: AbortSignal,
    extraHeaders: Readonly<Record<string, string>> = {},
  ): Promise<http.IncomingMessage> {
    return new Promise((resolve, reject) => {
      // Relative to the base URL's path, so a simplestreams mirror under /some/prefix/ works.
      const target = base ? new URL(path.replace(/^\//, ''), base) : undefined;
      const opts: http.RequestOptions = {
        method,
        agent,
        headers: {
          'user-agent': 'guestgate',
          host: target ? target.host : 'unix.socket',
          ...(body ? { 'content-type': 'application/json', 'content-length': String(body.length) } : {}),
          ...extraHeaders,
        },
        ...(signal ? { signal } : {}),
        ...(ep.socket
          ? { socketPath: ep.socket, path }
          : { hostname: target!.hostname, port: target!.port, path: target!.pathname + target!.search }),
      };
      const req = (tls ? https : http).request(opts, (res) => {
        if (ep.timeouts) idleDeadline(res, ep.timeouts.idleMs, where, path);
        resolve(res);
      });
      if (ep.timeouts) requestDeadlines(req, ep.timeouts, where, path);
      req.on('error', (e) =>
        reject(
          signal?.aborted
            ? signal.reason
            : new GuestgateError(
                'E_UPSTREAM',
                `upstream ${where}: ${e.message}`,
                { upstream: where, path },
                { cause: e },
              ),
        ),
      );
      req.end(body);
    });
  }

  function getJson(path: string, signal?: AbortSignal): Promise<{ status: number; body: unknown }> {
    return send('GET', path, undefined, signal);
  }

  async function send(
    method: string,
    path: string,
    payload?: unknown,
    signal?: AbortSignal,
    headers?: Readonly<Record<string, string>>,
  ): Promise<{ status: number; body: unknown; etag?: string | undefined }> {
    const res = await request(
      method,
      path,
      payload === undefined ? undefined : Buffer.from(JSON.stringify(payload)),
      signal,
      headers,
    );
    const etag = typeof res.headers.etag === 'string' ? res.headers.etag : undefined;
    const chunks: Buffer[] = [];
    let n = 0;
    for await (const c of res) {
      n += (c as Buffer).length;
      if (n > MAX_JSON) {
        res.destroy();
        throw new GuestgateError('E_UPSTREAM', `upstream ${where}: ${path}: response too large`, {
          upstream: where,
          path,
        });
      }
      chunks.push(c as Buffer);
    }
    const text = Buffer.concat(chunks).toString('utf8');
    try {
      return { status: res.statusCode ?? 0, body: JSON.parse(text), etag };
    } catch {
      return { status: res.statusCode ?? 0, body: text, etag };
    }
  }

  async function stream(path: string, signal?: AbortSignal, slabs?: AlignedSlabs): Promise<StreamResponse> {
    if (ep.socket) return streamGetUnix(ep.socket, path, { where, timeouts: ep.timeouts, signal, slabs });
    const res = await get(path, signal);
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(res.headers))
      if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(', ') : v;
    return {
      status: res.statusCode ?? 0,
      headers,
      body: res,
      get complete() {
        return res.complete;
      },
      destroy: (err) => res.destroy(err),
    };
  }

  return { get, stream, getJson, send, where, endpoint: ep, close: () => agent.destroy() };
}

/** Drain and discard a response body (so a keep-alive socket can be reused). */
export function discard(res: http.IncomingMessage): void {
  res.resume();
}

const stalled = (where: string, path: string, what: string): GuestgateError =>
  new GuestgateError('E_UPSTREAM', `upstream ${where}: ${path}: ${what}`, { upstream: where, path, timeout: what });

/** Connect and first-byte deadlines: the request is destroyed with an E_UPSTREAM error naming which. */
function requestDeadlines(req: http.ClientRequest, t: UpstreamTimeouts, where: string, path: string): void {
  const connect = setTimeout(
    () => req.destroy(stalled(where, path, `no connection in ${t.connectMs} ms`)),
    t.connectMs,
  );
  let firstByte: NodeJS.Timeout | undefined;
  const startFirstByte = (): void => {
    clearTimeout(connect);
    firstByte ??= setTimeout(
      () => req.destroy(stalled(where, path, `no response in ${t.firstByteMs} ms`)),
      t.firstByteMs,
    );
  };
  req.once('socket', (s) => {
    // A reused keep-alive socket is connected already.
    if (s.connecting) s.once('connect', startFirstByte);
    else startFirstByte();
  });
  const clear = (): void => {
    clearTimeout(connect);
    clearTimeout(firstByte);
  };
  req.once('response', clear);
  req.once('close', clear);
}

/** Between body bytes: a response that stays silent for idleMs is destroyed with an E_UPSTREAM error. */
function idleDeadline(res: http.IncomingMessage, idleMs: number, where: string, path: string): void {
  const socket = res.socket;
  const timer = setTimeout(() => res.destroy(stalled(where, path, `no bytes for ${idleMs} ms`)), idleMs);
  // The socket's data (not the response's, which would start the flow before the caller reads).
  const onData = (): void => void timer.refresh();
  socket.on('data', onData);
  res.once('close', () => {
    clearTimeout(timer);
    socket.off('data', onData);
  });
}
