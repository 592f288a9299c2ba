// The image service the guest API calls: lookup (cache first, then upstreams), export (from the
// cache, or through one shared fill per fingerprint), list, and admin operations.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { open, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { LRUCache } from 'lru-cache';
import type { ImagesConfig } from '../config/sections/images.ts';
import { GuestgateError, isGuestgateError } from '../errors.ts';
import { Catalog } from './store/catalog.ts';
import { Fill } from './fill/fill.ts';
import { parseFingerprint } from './fingerprint.ts';
import { importImage, type ImportOptions } from './fill/importer.ts';
import { buildManifest, wholeSeconds } from './fill/manifest-build.ts';
import { manifestSize, type ImageKind, type ImageType, type Manifest } from './store/manifest.ts';
import { blobPath } from './store/paths.ts';
import { serveComplete, serveFilling, type OpenImage } from './export/serve.ts';
import { ensureLayout, sweepTmp } from './store/blobs.ts';
import { createUpstream, type Upstream, type UpstreamImage } from './upstreams/index.ts';

export interface ImageRef {
  readonly fingerprint: string;
  readonly kind: ImageKind | undefined;
  readonly type: ImageType | undefined;
  readonly size: number | undefined;
  readonly public: boolean;
  readonly cached: boolean;
  /** Bytes already in guestgate's cache. */
  readonly inCache: boolean;
  /** "cache" or the upstream's name. */
  readonly source: string;
}

/** What the admin API and CLI list: the manifest's description of an image, plus its total size. */
export type ImageInfo = Omit<Manifest, 'version'> & { readonly size: number };

export interface ImageStats {
  bytes: number;
  images: number;
  hits: number;
  misses: number;
  fills: number;
  fillFailures: number;
  evictions: number;
  upstreamErrors: number;
}

export interface ImageService {
  lookup(fingerprint: string, mode: 'prefix' | 'exact'): Promise<ImageRef | undefined>;
  serveExport(
    req: IncomingMessage,
    res: ServerResponse,
    image: ImageRef,
    opts: { signal: AbortSignal; extraHeaders?: Record<string, string> },
  ): Promise<void>;
  list(): Promise<ImageInfo[]>;
  /** Import local files (one unified file, or metadata + rootfs). */
  import(files: readonly string[], opts?: Omit<ImportOptions, 'onBytes'>): Promise<ImageInfo>;
  remove(fingerprint: string): Promise<boolean>;
  pin(fingerprint: string, pinned: boolean): Promise<ImageInfo | undefined>;
  stats(): ImageStats;
  readonly cacheDir: string;
  close(): Promise<void>;
}

export const defaultCacheDir = (cfg: Pick<ImagesConfig, 'cache_dir'>, stateDir: string): string =>
  cfg.cache_dir ?? join(stateDir, 'images');

export const toInfo = (m: Manifest, pinned: boolean): ImageInfo => ({
  fingerprint: m.fingerprint,
  kind: m.kind,
  type: m.type,
  size: manifestSize(m),
  parts: m.parts,
  public: m.public,
  cached: m.cached,
  pinned,
  architecture: m.architecture,
  properties: m.properties,
  last_modified: m.last_modified,
  created_at: m.created_at,
  source: m.source,
});

const visible = (x: { public: boolean; cached: boolean }): boolean => x.public || x.cached;

/** How long an upstream's answer to a lookup is reused (64 guests asking at once cost one query). */
const LOOKUP_TTL_MS = 5_000;

interface Candidate {
  upstream: Upstream;
  image: UpstreamImage;
}

export async function createImageService(
  cfg: ImagesConfig,
  deps: { stateDir: string; log: Logger },
): Promise<ImageService> {
  const cacheDir = defaultCacheDir(cfg, deps.stateDir);
  const log = deps.log.child({ component: 'images' });
  await ensureLayout(cacheDir);
  const swept = await sweepTmp(cacheDir);
  const stats: ImageStats = {
    bytes: 0,
    images: 0,
    hits: 0,
    misses: 0,
    fills: 0,
    fillFailures: 0,
    evictions: 0,
    upstreamErrors: 0,
  };
  const { catalog, dropped, orphans } = await Catalog.load({
    cacheDir,
    maxSize: cfg.max_size,
    pinned: new Set(cfg.pinned),
    log,
    onEvict: (m) => {
      stats.evictions++;
      log.info({ fingerprint: m.fingerprint, size: manifestSize(m) }, 'image evicted');
    },
  });
  log.info(
    {
      cache_dir: cacheDir,
      images: catalog.list().length,
      bytes: catalog.bytes,
      tmp_removed: swept.files,
      manifests_dropped: dropped,
      orphan_blobs_removed: orphans,
    },
    'image cache ready',
  );

  const upstreams = cfg.upstreams.map(createUpstream);
  const fills = new Map<string, { fill: Fill; committed: Promise<Manifest> }>();
  const candidatesOf = new WeakMap<ImageRef, Candidate[]>();
  const found = new LRUCache<string, Promise<UpstreamImage[]>>({ max: 4096, ttl: LOOKUP_TTL_MS });
  let closed = false;

  function findIn(i: number, prefix: string): Promise<UpstreamImage[]> {
    const key = `${i}\0${prefix}`;
    let p = found.get(key);
    if (!p) {
      p = upstreams[i]!.find(prefix);
      found.set(key, p);
      p.catch(() => found.delete(key));
    }
    return p;
  }

  /** Every upstream's matches, first upstream first; unreachable upstreams are logged and skipped. */
  async function upstreamMatches(prefix: string): Promise<Map<string, Candidate[]>> {
    const results = await Promise.allSettled(upstreams.map((_, i) => findIn(i, prefix)));
    const byFp = new Map<string, Candidate[]>();
    results.forEach((r, i) => {
      if (r.status === 'rejected') {
        if (isGuestgateError(r.reason, 'E_IMAGE_AMBIGUOUS')) throw r.reason;
        stats.upstreamErrors++;
        log.warn({ upstream: upstreams[i]!.name, err: (r.reason as Error).message }, 'image upstream lookup failed');
        return;
      }
      for (const image of r.value) {
        const list = byFp.get(image.fingerprint) ?? [];
        list.push({ upstream: upstreams[i]!, image });
        byFp.set(image.fingerprint, list);
      }
    });
    return byFp;
  }

  const refFromManifest = (m: Manifest): ImageRef => ({
    fingerprint: m.fingerprint,
    kind: m.kind,
    type: m.type,
    size: manifestSize(m),
    public: m.public,
    cached: m.cached,
    inCache: true,
    source: 'cache',
  });

  async function lookup(input: string, mode: 'prefix' | 'exact'): Promise<ImageRef | undefined> {
    const q = parseFingerprint(input);
    if (mode === 'exact' && q.length !== 64) return undefined;
    // Hot path: a full fingerprint already cached never needs an upstream.
    const exact = q.length === 64 ? catalog.peek(q) : undefined;
    if (exact) return visible(exact) ? refFromManifest(exact) : undefined;

    const refs = new Map<string, ImageRef>();
    for (const m of catalog.find(q)) if (visible(m)) refs.set(m.fingerprint, refFromManifest(m));
    const remote = await upstreamMatches(q);
    for (const [fp, cands] of remote) {
      if (refs.has(fp) || catalog.peek(fp)) continue; // the cached copy's flags decide
      // The first upstream that has the image decides its visibility; private images look absent
      // (and do not make a prefix ambiguous, which would reveal that they exist).
      const first = cands[0]!.image;
      if (!visible(first)) continue;
      const ref: ImageRef = {
        fingerprint: fp,
        kind: first.kind,
        type: first.type,
        size: first.size,
        public: first.public,
        cached: first.cached,
        inCache: false,
        source: cands[0]!.upstream.name,
      };
      candidatesOf.set(ref, cands);
      refs.set(fp, ref);
    }
    if (refs.size > 1)
      throw new GuestgateError('E_IMAGE_AMBIGUOUS', 'More than one image matches', {
        fingerprint: q,
        matches: refs.size,
      });
    return refs.values().next().value;
  }

  async function candidatesFor(ref: ImageRef): Promise<Candidate[]> {
    const known = candidatesOf.get(ref);
    if (known) return known;
    return (await upstreamMatches(ref.fingerprint)).get(ref.fingerprint)?.filter((c) => visible(c.image)) ?? [];
  }

  function startFill(ref: ImageRef): { fill: Fill; committed: Promise<Manifest> } {
    const fp = ref.fingerprint;
    const fill = new Fill(fp, cacheDir, wholeSeconds(new Date()));
    const committed = (async () => {
      const cands = await candidatesFor(ref);
      if (!cands.length) throw new GuestgateError('E_IMAGE_NOT_FOUND', 'Image not found', { fingerprint: fp });
      fill.lastModified = wholeSeconds(cands[0]!.image.lastModified ?? new Date());
      const t0 = performance.now();
      let manifest: Manifest | undefined;
      const result = await fill.run(cands, async (r) => {
        manifest = await buildManifest(cacheDir, fp, r, fill.lastModified);
        await catalog.add(manifest);
      });
      if (!manifest) throw new GuestgateError('E_INTERNAL', 'fill finished without a manifest', { fingerprint: fp });
      stats.fills++;
      log.info(
        {
          fingerprint: fp,
          upstream: result.upstream,
          bytes: manifestSize(manifest),
          ms: Math.round(performance.now() - t0),
        },
        'image cached',
      );
      return manifest;
    })();
    const entry = { fill, committed };
    fills.set(fp, entry);
    committed.then(
      () => fills.delete(fp),
      (e: Error) => {
        fills.delete(fp);
        // A failure before run() started (no candidates) must still reach waiting readers.
        if (fill.state === 'running') fill.fail(e);
        stats.fillFailures++;
        if (!isGuestgateError(e, 'E_IMAGE_NOT_FOUND')) stats.upstreamErrors++;
        log.warn({ fingerprint: fp, code: (e as GuestgateError).code, err: e.message }, 'image fill failed');
      },
    );
    return entry;
  }

  async function openManifest(m: Manifest): Promise<OpenImage | undefined> {
    const handles: FileHandle[] = [];
    try {
      for (const p of m.parts) handles.push(await open(blobPath(cacheDir, p.digest), 'r'));
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

  const wantsWholeBody = (req: IncomingMessage): boolean =>
    req.method === 'GET' &&
    !req.headers.range &&
    !req.headers['if-modified-since'] &&
    !req.headers['if-unmodified-since'];

  async function serveExport(
    req: IncomingMessage,
    res: ServerResponse,
    ref: ImageRef,
    opts: { signal: AbortSignal; extraHeaders?: Record<string, string> },
  ): Promise<void> {
    if (closed) throw new GuestgateError('E_UPSTREAM', 'image service is shutting down', {});
    const fp = parseFingerprint(ref.fingerprint);
    if (fp.length !== 64) throw new GuestgateError('E_BAD_FINGERPRINT', 'Invalid fingerprint', { fingerprint: fp });
    const o = { signal: opts.signal, extraHeaders: opts.extraHeaders };
    for (let attempt = 0; attempt < 3; attempt++) {
      if (opts.signal.aborted) return;
      const m = catalog.get(fp);
      if (m) {
        const img = await openManifest(m);
        if (img) {
          stats.hits++;
          try {
            await serveComplete(req, res, img, o);
          } catch (e) {
            if (!res.headersSent) throw toServeError(e, fp);
            log.info({ fingerprint: fp, err: (e as Error).message }, 'image export cut short');
          } finally {
            for (const p of img.parts) await p.fh.close().catch(() => {});
          }
          return;
        }
        continue; // evicted between lookup and open: fill again
      }
      if (!ref.public && !ref.cached && !catalog.peek(fp))
        throw new GuestgateError('E_IMAGE_NOT_FOUND', 'Image not found', { fingerprint: fp });
      let entry = fills.get(fp);
      if (!entry) {
        stats.misses++;
        entry = startFill(ref);
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
        log.info({ fingerprint: fp, err: (e as Error).message }, 'image export cut short');
        return;
      } finally {
        opts.signal.removeEventListener('abort', onAbort);
        release();
      }
    }
    throw new GuestgateError('E_IMAGE_NOT_FOUND', 'Image not found', { fingerprint: fp });
  }

  const isPinned = (m: Manifest): boolean => catalog.isPinned(m);

  return {
    cacheDir,
    lookup,
    serveExport,
    async list() {
      return catalog.list().map((m) => toInfo(m, isPinned(m)));
    },
    async import(files, io) {
      const m = await importImage(cacheDir, catalog, files, io);
      return toInfo(m, isPinned(m));
    },
    async remove(input) {
      return catalog.remove(parseFingerprint(input));
    },
    async pin(input, pinned) {
      const m = await catalog.setPinned(parseFingerprint(input), pinned);
      return m ? toInfo(m, isPinned(m)) : undefined;
    },
    stats() {
      return { ...stats, bytes: catalog.bytes, images: catalog.list().length };
    },
    async close() {
      closed = true;
      const pending = [...fills.values()];
      for (const { fill } of pending) fill.abort(new GuestgateError('E_UPSTREAM', 'image service closed', {}));
      await Promise.allSettled(pending.map((p) => p.committed));
      await catalog.settle();
      for (const u of upstreams) await u.close?.();
    },
  };
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
