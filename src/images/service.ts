// The image service: a thin composition of the store (catalog on disk), lookup (cache, then
// upstreams), single-flight fills and export, plus the admin operations on the catalog.
import type { Logger } from 'pino';
import { type ImagesConfig, UPSTREAM_TIMEOUTS } from '../config/sections/images.ts';
import { GuestgateError } from '../errors.ts';
import { Exporter } from './export/export.ts';
import { importImage, importStream } from './fill/importer.ts';
import { FillRegistry } from './fill/registry.ts';
import { parseFingerprint } from './fingerprint.ts';
import { Lookup } from './lookup.ts';
import { ensureLayout, LiveTmp, storeModes, sweepTmp } from './store/blobs.ts';
import { type CacheLock, lockCache, lockCacheAfter } from './store/lock.ts';
import { deferredImageService } from './deferred.ts';
import { gcOnline, verifyOnline } from './store/online.ts';
import { mkdirDurable } from '../util/atomic-write.ts';
import { Catalog } from './store/catalog.ts';
import { manifestSize } from './store/manifest.ts';
import { defaultCacheDir } from './store/paths.ts';
import { toInfo, type ImageService } from './types.ts';
import { createUpstream } from './upstreams/index.ts';

export interface ImageServiceDeps {
  stateDir: string;
  log: Logger;
  role?: string;
  /**
   * A restart's successor: the lock is still held by this pid (the predecessor, draining). The service
   * is returned at once and opens when that lock is released (within `wait_ms`); calls wait for it.
   */
  after?: { pid: number; waitMs: number };
}

export async function createImageService(cfg: ImagesConfig, deps: ImageServiceDeps): Promise<ImageService> {
  const cacheDir = defaultCacheDir(cfg, deps.stateDir);
  const modes = storeModes(cfg.file_mode);
  const log = deps.log.child({ component: 'images' });
  await mkdirDurable(cacheDir, modes.dir);
  // The daemon is the cache's only writer: a second gateway, or the CLI working offline, is refused.
  const role = deps.role ?? `guestgate serve (pid ${process.pid})`;
  const withLock = async (lock: CacheLock): Promise<ImageService> => {
    try {
      return await open(cfg, cacheDir, modes, log, lock.release);
    } catch (e) {
      await lock.release();
      throw e;
    }
  };
  if (!deps.after) return withLock(await lockCache(cacheDir, role));
  const { pid, waitMs } = deps.after;
  const abort = new AbortController();
  log.info({ holder_pid: pid, wait_ms: waitMs }, 'waiting for the previous process to release the image cache');
  const opening = lockCacheAfter(cacheDir, role, pid, waitMs, abort.signal).then(withLock);
  opening.then(
    () => log.info({ cache_dir: cacheDir }, 'image cache taken over from the previous process'),
    (e) => log.error({ err: e }, 'image cache not taken over: image requests fail until a restart'),
  );
  return deferredImageService(cacheDir, opening, () => abort.abort());
}

async function open(
  cfg: ImagesConfig,
  cacheDir: string,
  modes: ReturnType<typeof storeModes>,
  log: Logger,
  unlock: () => Promise<void>,
): Promise<ImageService> {
  await ensureLayout(cacheDir, modes);
  const swept = await sweepTmp(cacheDir);
  const live = new LiveTmp();
  let evictions = 0;
  const { catalog, dropped, orphans } = await Catalog.load({
    cacheDir,
    maxSize: cfg.max_size,
    pinned: new Set(cfg.pinned),
    modes,
    live,
    log,
    onEvict: (m) => {
      evictions++;
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

  const t = cfg.upstream_timeouts ?? UPSTREAM_TIMEOUTS;
  const timeouts = { connectMs: t.connect, firstByteMs: t.first_byte, idleMs: t.idle };
  const upstreams = cfg.upstreams.map((u) => createUpstream(u, timeouts));
  const lookup = new Lookup(catalog, upstreams, log, cfg.lookup_ttl);
  const store = { cacheDir, modes, live };
  const fills = new FillRegistry(store, catalog, (ref) => lookup.candidatesFor(ref), log);
  const exporter = new Exporter(cacheDir, catalog, fills, log);
  let closed = false;
  const inFlight = new Map<object, { fingerprint: string; since: number }>();
  let drained: (() => void) | undefined;

  return {
    cacheDir,
    lookup: (fp, mode) => lookup.lookup(fp, mode),
    async serveExport(req, res, ref, opts) {
      if (closed) throw new GuestgateError('E_CLOSED', 'image service is shutting down', {});
      const token = {};
      inFlight.set(token, { fingerprint: ref.fingerprint, since: Date.now() });
      try {
        await exporter.serve(req, res, ref, opts);
        // serve() resolves once the bytes are handed to the socket: wait until the guest has them.
        if (!res.writableFinished && !res.destroyed)
          await new Promise<void>((r) => {
            res.once('finish', r);
            res.once('close', r);
          });
      } finally {
        inFlight.delete(token);
        if (inFlight.size === 0) drained?.();
      }
    },
    async list() {
      return catalog.list().map((m) => toInfo(m, catalog.isPinned(m)));
    },
    async import(files, io) {
      const m = await importImage(store, catalog, files, io);
      return toInfo(m, catalog.isPinned(m));
    },
    async importStream(fingerprint, source, parts, io) {
      const m = await importStream(store, catalog, parseFingerprint(fingerprint), source, parts, io);
      return toInfo(m, catalog.isPinned(m));
    },
    resolve(prefix) {
      const hits = catalog.find(parseFingerprint(prefix));
      if (hits.length > 1)
        throw new GuestgateError('E_IMAGE_AMBIGUOUS', `more than one cached image matches ${prefix}`, {
          fingerprint: prefix,
        });
      if (!hits[0])
        throw new GuestgateError('E_IMAGE_NOT_FOUND', `no cached image matches ${prefix}`, { fingerprint: prefix });
      return toInfo(hits[0], catalog.isPinned(hits[0]));
    },
    verify: () => verifyOnline({ cacheDir, catalog, live }),
    gc: () => gcOnline({ cacheDir, catalog, live }),
    async remove(input) {
      return catalog.remove(parseFingerprint(input));
    },
    async pin(input, pinned) {
      const m = await catalog.setPinned(parseFingerprint(input), pinned);
      return m ? toInfo(m, catalog.isPinned(m)) : undefined;
    },
    stats() {
      const f = fills.counts;
      const e = exporter.counts;
      return {
        bytes: catalog.bytes,
        images: catalog.list().length,
        hits: e.hits,
        misses: e.misses,
        fills: f.fills,
        fillFailures: f.fillFailures,
        evictions,
        upstreamErrors: lookup.upstreamErrors + f.upstreamErrors,
      };
    },
    health: () => lookup.unreachable,
    async drain(timeoutMs) {
      closed = true;
      const running = () =>
        [...inFlight.values()].map((e) => ({ ...e, seconds: Math.round((Date.now() - e.since) / 1000) }));
      if (inFlight.size === 0) return;
      log.info({ exports: running(), timeout_ms: timeoutMs }, 'draining: waiting for exports in flight');
      let timer: NodeJS.Timeout | undefined;
      const ended = await new Promise<boolean>((resolve) => {
        drained = () => resolve(true);
        timer = setTimeout(() => resolve(false), timeoutMs);
      });
      clearTimeout(timer);
      drained = undefined;
      if (!ended) log.warn({ exports: running() }, 'drain timeout: exports still running are cut');
      else log.info('drained: every export in flight finished');
    },
    async close() {
      closed = true;
      await fills.close(new GuestgateError('E_CLOSED', 'image service closed', {}));
      await catalog.settle();
      for (const u of upstreams) await u.close?.();
      await unlock();
    },
  };
}
