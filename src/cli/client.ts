// The CLI's side of the admin API: HTTP over the admin unix socket, {"error": {...}} bodies turned
// back into GuestgateErrors (same codes, so exit codes follow), a clear word when nothing listens.
import { request } from 'node:http';
import type { Readable } from 'node:stream';
import { GuestgateError, type ErrorCode } from '../errors.ts';
import { loadConfig } from '../config/load.ts';
import { adminSocketPath } from '../config/sections/admin.ts';
import { DEFAULT_CONFIG } from './common.ts';

export interface Response {
  readonly status: number;
  readonly contentType: string;
  readonly text: string;
}

export interface ConnectOptions {
  readonly admin?: string | undefined;
  readonly config?: string | undefined;
}

/** --admin, else $GUESTGATE_ADMIN, else the config's runtime_dir/admin.sock. */
export function adminSocketFrom(o: ConnectOptions): string {
  if (o.admin) return o.admin;
  if (process.env.GUESTGATE_ADMIN) return process.env.GUESTGATE_ADMIN;
  const config = loadConfig(o.config ?? DEFAULT_CONFIG);
  return adminSocketPath(config.runtime_dir, config.admin);
}

export class AdminClient {
  readonly socket: string;
  constructor(socket: string) {
    this.socket = socket;
  }

  /** One request; a Readable body is streamed (the caller sets its Content-Length). */
  raw(method: string, path: string, body?: string | Readable, headers: Record<string, string> = {}): Promise<Response> {
    return new Promise((resolve, reject) => {
      const req = request(
        {
          socketPath: this.socket,
          method,
          path,
          headers: {
            Host: 'guestgate',
            ...headers,
            ...(typeof body === 'string' ? { 'Content-Length': String(Buffer.byteLength(body)) } : {}),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () =>
            resolve({
              status: res.statusCode ?? 0,
              contentType: String(res.headers['content-type'] ?? ''),
              text: Buffer.concat(chunks).toString('utf8'),
            }),
          );
          res.on('error', reject);
        },
      );
      req.on('error', (e: NodeJS.ErrnoException) => {
        if (e.code === 'ENOENT' || e.code === 'ECONNREFUSED')
          reject(
            new GuestgateError(
              'E_UNAVAILABLE',
              `cannot reach the admin API at ${this.socket} (${e.code}): is \`guestgate serve\` running? (--admin <socket> names another socket)`,
            ),
          );
        else if (e.code === 'EACCES')
          reject(
            new GuestgateError(
              'E_FORBIDDEN',
              `permission denied on ${this.socket}: the admin socket is root-only by default`,
            ),
          );
        else reject(e);
      });
      if (body !== undefined && typeof body !== 'string') {
        body.on('error', (e) => req.destroy(e));
        body.pipe(req);
      } else req.end(body);
    });
  }

  /** JSON in, JSON out; a non-2xx answer throws the server's error. */
  async call<T = unknown>(method: string, path: string, body?: unknown, opts: { yaml?: string } = {}): Promise<T> {
    const headers: Record<string, string> = { Accept: 'application/json' };
    let text: string | undefined;
    if (opts.yaml !== undefined) {
      headers['Content-Type'] = 'application/yaml';
      text = opts.yaml;
    } else if (body !== undefined) {
      headers['Content-Type'] = 'application/json';
      text = JSON.stringify(body);
    }
    const res = await this.raw(method, path, text, headers);
    if (res.status >= 400) throw errorFrom(res);
    if (res.status === 204 || res.text === '') return undefined as T;
    return JSON.parse(res.text) as T;
  }

  async text(path: string, accept: string): Promise<string> {
    const res = await this.raw('GET', path, undefined, { Accept: accept });
    if (res.status >= 400) throw errorFrom(res);
    return res.text;
  }
}

export function errorFrom(res: Response): GuestgateError {
  try {
    const { error } = JSON.parse(res.text) as { error: { code: ErrorCode; message: string } & Record<string, unknown> };
    const { code, message, ...fields } = error;
    return new GuestgateError(code, message, fields);
  } catch {
    return new GuestgateError('E_INTERNAL', `admin API answered ${res.status}: ${res.text.slice(0, 200)}`);
  }
}

export const instancePath = (name: string, suffix = ''): string => {
  const [project, n] = name.includes('/') ? (name.split('/', 2) as [string, string]) : ['default', name];
  return `/1.0/instances/${encodeURIComponent(n)}${suffix}${project !== 'default' ? `?project=${encodeURIComponent(project)}` : ''}`;
};
