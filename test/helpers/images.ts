// Shared test plumbing: temp dirs, an image service behind a plain http server on a unix socket
// (standing in for the guest API route), an HTTP client over unix sockets, and the checks the
// nested LXD client makes (client/lxd_images.go lxdDownloadImage).
import { createHash } from 'node:crypto';
import http from 'node:http';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import yaml from 'js-yaml';
import pino from 'pino';
import { createImageService, type ImageService } from '../../src/images/index.ts';
import type { ImagesConfig } from '../../src/config/sections/images.ts';
import { isGuestgateError } from '../../src/errors.ts';

export const silent = pino({ level: 'silent' });

export async function tempDir(): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'gg-images-'));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/**
 * A temp folder for the offline `images`/`cache` CLI verbs: an empty inventory and a guestgate.yaml
 * with the cache at `<dir>/cache` (`images` keys override).
 */
export async function cliWorkspace(
  images: Record<string, unknown> = {},
): Promise<{ dir: string; config: string; cleanup: () => Promise<void> }> {
  const t = await tempDir();
  await mkdir(join(t.dir, 'inventory'));
  const config = join(t.dir, 'guestgate.yaml');
  await writeFile(
    config,
    yaml.dump({
      state_dir: 'state',
      inventory: { source: 'dir', dir: 'inventory' },
      images: { cache_dir: 'cache', ...images },
    }),
  );
  return { ...t, config };
}

export function imagesConfig(over: Partial<ImagesConfig> = {}): ImagesConfig {
  return {
    cache_dir: undefined,
    max_size: 1024 ** 3,
    pinned: [],
    file_mode: 0o600,
    upstreams: [],
    lookup_ttl: 5_000,
    drain_timeout: 300_000,
    upstream_timeouts: undefined,
    ...over,
  };
}

export async function service(stateDir: string, over: Partial<ImagesConfig> = {}): Promise<ImageService> {
  return createImageService(imagesConfig(over), { stateDir, log: silent });
}

const envelope = (code: number, error: string): string =>
  `${JSON.stringify({ type: 'error', status: '', status_code: 0, operation: '', error_code: code, error, metadata: null })}\n\n`;

export interface ExportServer {
  socket: string;
  close(): Promise<void>;
  /** Errors serveExport threw (before the status line). */
  errors: unknown[];
}

/** What the guest API route will do, minus the gates: lookup -> 404 envelope, else serveExport. */
export async function exportServer(
  svc: ImageService,
  socket: string,
  mode: 'prefix' | 'exact' = 'prefix',
): Promise<ExportServer> {
  const errors: unknown[] = [];
  const server = http.createServer(async (req, res) => {
    const m = /^\/1\.0\/images\/([^/?]+)\/export(?:\?.*)?$/.exec(req.url ?? '');
    if (!m) return void res.writeHead(404).end('404 page not found\n');
    const ac = new AbortController();
    res.on('close', () => {
      if (!res.writableFinished) ac.abort();
    });
    try {
      const ref = await svc.lookup(decodeURIComponent(m[1]!), mode);
      if (!ref)
        return void res.writeHead(404, { 'Content-Type': 'application/json' }).end(envelope(404, 'Image not found'));
      await svc.serveExport(req, res, ref, { signal: ac.signal, extraHeaders: { 'X-Test': 'yes' } });
    } catch (e) {
      errors.push(e);
      if (res.headersSent) return void res.destroy();
      const status = isGuestgateError(e, 'E_BAD_FINGERPRINT')
        ? 400
        : isGuestgateError(e, 'E_IMAGE_NOT_FOUND')
          ? 404
          : 500;
      res.writeHead(status, { 'Content-Type': 'application/json' }).end(envelope(status, (e as Error).message));
    }
  });
  await new Promise<void>((r) => server.listen(socket, r));
  return {
    socket,
    errors,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

export interface Got {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  /** False when the connection broke before the body was complete. */
  complete: boolean;
}

export function get(
  socket: string,
  path: string,
  opts: { method?: string; headers?: Record<string, string>; signal?: AbortSignal; onData?: (n: number) => void } = {},
): Promise<Got> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        socketPath: socket,
        path,
        method: opts.method ?? 'GET',
        headers: { host: 'unix.socket', connection: 'close', ...opts.headers },
        ...(opts.signal ? { signal: opts.signal } : {}),
      },
      (res) => {
        const chunks: Buffer[] = [];
        let done = false;
        const finish = (complete: boolean): void => {
          if (done) return;
          done = true;
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks), complete });
        };
        res.on('data', (c: Buffer) => {
          chunks.push(c);
          opts.onData?.(c.length);
        });
        res.on('end', () => finish(res.complete));
        res.on('error', () => finish(false));
        res.on('aborted', () => finish(false));
        res.on('close', () => finish(res.complete));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

/**
 * The nested LXD client's checks: non-200 fails; multipart needs parts `metadata` then `rootfs` or
 * `rootfs.img`; otherwise Content-Disposition must carry a filename; sha256 of all bytes must start
 * with the requested fingerprint. Multipart is parsed with undici's parser (not ours).
 */
export async function nestedClientAccepts(
  got: Got,
  requested: string,
): Promise<{ ok: true; names: string[]; filenames: string[] } | { ok: false; why: string }> {
  if (!got.complete) return { ok: false, why: 'truncated' };
  if (got.status !== 200) return { ok: false, why: `status ${got.status}` };
  const ct = String(got.headers['content-type'] ?? '');
  const h = createHash('sha256');
  const names: string[] = [];
  const filenames: string[] = [];
  if (/^multipart\/form-data/i.test(ct)) {
    const form = await new Response(new Uint8Array(got.body), { headers: { 'content-type': ct } }).formData();
    const entries = [...form.entries()];
    if (entries.length !== 2) return { ok: false, why: `expected 2 parts, got ${entries.length}` };
    const [[n1, f1], [n2, f2]] = entries as [[string, File], [string, File]];
    if (n1 !== 'metadata' || (n2 !== 'rootfs' && n2 !== 'rootfs.img'))
      return { ok: false, why: `Invalid multipart image (${n1}, ${n2})` };
    names.push(n1, n2);
    filenames.push(f1.name, f2.name);
    h.update(Buffer.from(await f1.arrayBuffer()));
    h.update(Buffer.from(await f2.arrayBuffer()));
  } else {
    const cd = String(got.headers['content-disposition'] ?? '');
    const m = /^[a-z-]+\s*;\s*filename=("?)([^";]+)\1/i.exec(cd);
    if (!m) return { ok: false, why: `no filename in Content-Disposition ${JSON.stringify(cd)}` };
    filenames.push(m[2]!);
    h.update(got.body);
  }
  const digest = h.digest('hex');
  if (!digest.startsWith(requested))
    return { ok: false, why: `Image fingerprint doesn't match. Got ${digest} expected ${requested}` };
  return { ok: true, names, filenames };
}

/** Complete upstream config entries (optional keys spelled out, as the validator produces them). */
export const lxdUpstreamConfig = (socket: string) => ({
  type: 'lxd' as const,
  socket,
  url: undefined,
  client_cert: undefined,
  client_key: undefined,
  server_cert: undefined,
  project: 'default',
});
export const simplestreamsConfig = (url: string) => ({
  type: 'simplestreams' as const,
  url,
  server_cert: undefined,
  catalog_ttl: 60_000,
});
