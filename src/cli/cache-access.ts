// How the `images` and `cache` verbs reach the cache: through a running gateway's admin API (the
// daemon is the cache's only writer), or, when none answers, on the folder itself under the cache
// lock, which a gateway also holds while it runs (so a live cache is never written from outside).
import { loadConfig } from '../config/load.ts';
import { adminSocketPath } from '../config/sections/admin.ts';
import { isGuestgateError } from '../errors.ts';
import { storeModes, type StoreModes } from '../images/store/blobs.ts';
import { lockCache } from '../images/store/lock.ts';
import { defaultCacheDir } from '../images/store/paths.ts';
import { mkdirDurable } from '../util/atomic-write.ts';
import { AdminClient } from './client.ts';

export interface CacheSettings {
  readonly cacheDir: string;
  readonly maxSize: number;
  readonly pinned: readonly string[];
  readonly modes: StoreModes;
  /** The admin socket of a gateway using this config (undefined when admin.enabled is false). */
  readonly adminSocket: string | undefined;
}

export function cacheSettings(configFile: string): CacheSettings {
  const cfg = loadConfig(configFile);
  return {
    modes: storeModes(cfg.images.file_mode),
    cacheDir: defaultCacheDir(cfg.images, cfg.state_dir),
    maxSize: cfg.images.max_size,
    pinned: cfg.images.pinned,
    adminSocket: cfg.admin.enabled
      ? (process.env.GUESTGATE_ADMIN ?? adminSocketPath(cfg.runtime_dir, cfg.admin))
      : undefined,
  };
}

/** The running gateway's admin client, or undefined when nothing answers on its socket. */
export async function runningGateway(s: Pick<CacheSettings, 'adminSocket'>): Promise<AdminClient | undefined> {
  if (!s.adminSocket) return undefined;
  const c = new AdminClient(s.adminSocket);
  try {
    await c.call('GET', '/healthz');
    return c;
  } catch (e) {
    if (isGuestgateError(e, 'E_UNAVAILABLE')) return undefined;
    throw e;
  }
}

export interface CacheAccess<T> {
  /** A gateway runs: ask it. */
  online(c: AdminClient): Promise<T>;
  /** None runs: work on the folder (the lock is held meanwhile). */
  offline(): Promise<T>;
}

/** Run a writing verb through the gateway, else offline under the lock (E_CONFLICT naming the holder's pid). */
export async function withCache<T>(s: CacheSettings, verb: string, a: CacheAccess<T>): Promise<T> {
  const gw = await runningGateway(s);
  if (gw) return a.online(gw);
  await mkdirDurable(s.cacheDir, s.modes.dir);
  const lock = await lockCache(s.cacheDir, `guestgate ${verb} (pid ${process.pid})`);
  try {
    return await a.offline();
  } finally {
    await lock.release();
  }
}
