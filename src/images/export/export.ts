// One export request: from the cache when the image is committed (open descriptors, so an
// eviction meanwhile does not matter), else through the single fill for that fingerprint. Retries
// when the image vanished between lookup and open, or a fill closed before the guest attached.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { open, type FileHandle } from 'node:fs/promises';
import type { Logger } from 'pino';
import { GuestgateError } from '../../errors.ts';
import { parseFingerprint } from '../fingerprint.ts';
import type { FillRegistry } from '../fill/registry.ts';
import type { Catalog } from '../store/catalog.ts';
import type { Manifest } from '../store/manifest.ts';
import { blobPath } from '../store/paths.ts';
import type { ExportOptions, ImageRef } from '../types.ts';
import { serveComplete, serveFilling, type OpenImage } from './serve.ts';

const ATTEMPTS = 3;

const wantsWholeBody = (req: IncomingMessage): boolean =>
  req.method === 'GET' &&
  !req.headers.range &&
  !req.headers['if-modified-since'] &&
  !req.headers['if-unmodified-since'] &&
  !req.headers['if-match'] &&
  !req.headers['if-none-match'];

export class Exporter {
  readonly #cacheDir: string;
  readonly #catalog: Catalog;
  readonly #fills: FillRegistry;
  readonly #log: Logger;
  #hits = 0;
  #misses = 0;

  constructor(cacheDir: string, catalog: Catalog, fills: FillRegistry, log: Logger) {
    this.#cacheDir = cacheDir;
    this.#catalog = catalog;
    this.#fills = fills;
    this.#log = log;
  }

  /** Exports served from the cache, and exports that had to start a fill. */
  get counts(): { readonly hits: number; readonly misses: number } {
    return { hits: this.#hits, misses: this.#misses };
  }

  async serve(req: IncomingMessage, res: ServerResponse, ref: ImageRef, opts: ExportOptions): Promise<void> {
    const fp = parseFingerprint(ref.fingerprint);
    if (fp.length !== 64) throw new GuestgateError('E_BAD_FINGERPRINT', 'Invalid fingerprint', { fingerprint: fp });
    const o = { signal: opts.signal, extraHeaders: opts.extraHeaders };
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      if (opts.signal.aborted) return;
      const m = this.#catalog.get(fp);
      if (m) {
        const img = await this.#openManifest(m);
        if (!img) continue; // evicted between lookup and open: fill again
        this.#hits++;
        try {
          await serveComplete(req, res, img, o);
        } catch (e) {
          if (!res.headersSent) throw toServeError(e, fp);
          this.#log.info({ fingerprint: fp, err: (e as Error).message }, 'image export cut short');
        } finally {
          for (const p of img.parts) await p.fh.close().catch(() => {});
        }
        return;
      }
      if (!ref.public && !ref.cached && !this.#catalog.peek(fp))
        throw new GuestgateError('E_IMAGE_NOT_FOUND', 'Image not found', { fingerprint: fp });
      let entry = this.#fills.get(fp);
      if (!entry) {
        this.#misses++;
        entry = this.#fills.start(ref);
      }
      const release = entry.fill.attach();
      if (!release) {
        await entry.committed.catch(() => {});
        continue;
      }
      const onAbort = (): void => release();
      opts.signal.addEventListener('abort', onAbort, { once: true });
      try {
        if (wantsWholeBody(req)) return await serveFilling(req, res, entry.fill, o);
        // Range, conditionals and HEAD need the finished file: serve it from the fill's own descriptors.
        await entry.fill.verified;
        const manifest = await entry.committed;
        const img: OpenImage = {
          fingerprint: fp,
          kind: manifest.kind,
          lastModified: new Date(manifest.last_modified),
          parts: entry.fill.parts.map((p, i) => ({ ...manifest.parts[i]!, fh: p.fh })),
        };
        return await serveComplete(req, res, img, o);
      } catch (e) {
        if (!res.headersSent) throw toServeError(e, fp);
        // After the status line the socket was destroyed (truncated transfer); nothing to report upward.
        this.#log.info({ fingerprint: fp, err: (e as Error).message }, 'image export cut short');
        return;
      } finally {
        opts.signal.removeEventListener('abort', onAbort);
        release();
      }
    }
    throw new GuestgateError('E_IMAGE_NOT_FOUND', 'Image not found', { fingerprint: fp });
  }

  async #openManifest(m: Manifest): Promise<OpenImage | undefined> {
    const handles: FileHandle[] = [];
    try {
      for (const p of m.parts) handles.push(await open(blobPath(this.#cacheDir, p.digest), 'r'));
    } catch (e) {
      for (const h of handles) await h.close();
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined; // evicted meanwhile
      throw e;
    }
    return {
      fingerprint: m.fingerprint,
      kind: m.kind,
      lastModified: new Date(m.last_modified),
      parts: m.parts.map((p, i) => ({ ...p, fh: handles[i]! })),
    };
  }
}

function toServeError(e: unknown, fingerprint: string): Error {
  if (e instanceof GuestgateError) return e;
  return new GuestgateError(
    'E_UPSTREAM',
    `image export failed: ${(e as Error)?.message ?? String(e)}`,
    { fingerprint },
    { cause: e },
  );
}
