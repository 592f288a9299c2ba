// The image service: a thin composition of the store (catalog on disk), lookup (cache, then
// upstreams), single-flight fills and export, plus the admin operations on the catalog.
import type { Logger } from 'pino';
import { type ImagesConfig, UPSTREAM_TIMEOUTS } from '../config/sections/images.ts';
import { GuestgateError } from '../errors.ts';
import { Exporter } from './export/export.ts';
import { importImage } from './fill/importer.ts';
import { FillRegistry } from './fill/registry.ts';
import { parseFingerprint } from './fingerprint.ts';
import { Lookup } from './lookup.ts';
import { ensureLayout, storeModes, sweepTmp } from './store/blobs.ts';
import { Catalog } from './store/catalog.ts';
import { manifestSize } from './store/manifest.ts';
import { defaultCacheDir } from './store/paths.ts';
import { toInfo, type ImageService } from './types.ts';
import { createUpstream } from './upstreams/index.ts';

export async function createImageService(
  cfg: ImagesConfig,
  deps: { stateDir: string; log: Logger },
): Promise<ImageService> {
  const cacheDir = defaultCacheDir(cfg, deps.stateDir);
  const modes = storeModes(cfg.file_mode);
  const log = deps.log.child({ component: 'images' });
  await ensureLayout(cacheDir, modes);
  const swept = await sweepTmp(cacheDir);
  let evictions = 0;
  const { catalog, dropped, orphans } = await Catalog.load({
    cacheDir,
    maxSize: cfg.max_size,
    pinned: new Set(cfg.pinned),
    modes,
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
  const lookup = new Lookup(catalog, upstreams, log);
  const fills = new FillRegistry({ cacheDir, modes }, catalog, (ref) => lookup.candidatesFor(ref), log);
  const exporter = new Exporter(cacheDir, catalog, fills, log);
  let closed = false;

  return {
    cacheDir,
    lookup: (fp, mode) => lookup.lookup(fp, mode),
    async serveExport(req, res, ref, opts) {
      if (closed) throw new GuestgateError('E_CLOSED', 'image service is shutting down', {});
      await exporter.serve(req, res, ref, opts);
    },
    async list() {
      return catalog.list().map((m) => toInfo(m, catalog.isPinned(m)));
    },
    async import(files, io) {
      const m = await importImage({ cacheDir, modes }, catalog, files, io);
      return toInfo(m, catalog.isPinned(m));
    },
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
    async close() {
      closed = true;
      await fills.close(new GuestgateError('E_CLOSED', 'image service closed', {}));
      await catalog.settle();
      for (const u of upstreams) await u.close?.();
    },
  };
}
