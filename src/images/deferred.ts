// The image service of a restart's successor, before it has the cache's lock: the predecessor is
// still the only writer while it drains its exports in flight. Calls wait for the real service (they
// are delayed, never refused); the two synchronous views answer from nothing meanwhile.
import { GuestgateError } from '../errors.ts';
import type { ImageService, ImageStats } from './types.ts';

const EMPTY: ImageStats = {
  bytes: 0,
  images: 0,
  hits: 0,
  misses: 0,
  fills: 0,
  fillFailures: 0,
  evictions: 0,
  upstreamErrors: 0,
};

export function deferredImageService(
  cacheDir: string,
  opening: Promise<ImageService>,
  abort: () => void,
): ImageService {
  let ready: ImageService | undefined;
  let failed: unknown;
  const real = opening.then(
    (s) => (ready = s),
    (e) => {
      failed = e;
      throw e;
    },
  );
  real.catch(() => {}); // seen by each caller
  const pending = (): never => {
    if (failed) throw failed;
    throw new GuestgateError(
      'E_UNAVAILABLE',
      'the image cache is still held by the previous guestgate process (restart in progress)',
      { cache_dir: cacheDir },
    );
  };
  return {
    cacheDir,
    lookup: async (fp, mode) => (await real).lookup(fp, mode),
    serveExport: async (req, res, image, opts) => (await real).serveExport(req, res, image, opts),
    list: async () => (await real).list(),
    import: async (files, opts) => (await real).import(files, opts),
    importStream: async (fp, source, parts, opts) => (await real).importStream(fp, source, parts, opts),
    resolve: (prefix) => (ready ?? pending()).resolve(prefix),
    remove: async (fp) => (await real).remove(fp),
    verify: async () => (await real).verify(),
    gc: async () => (await real).gc(),
    pin: async (fp, pinned) => (await real).pin(fp, pinned),
    stats: () => ready?.stats() ?? EMPTY,
    health: () => ready?.health() ?? [],
    drain: async (ms) => ready?.drain(ms),
    close: async () => {
      abort();
      await (await real.catch(() => undefined))?.close();
    },
  };
}
