// One writer per cache folder: `<cache_dir>/lock` names its holder (pid, the process's start time
// from /proc, and a role). It is created with link(2), which fails when the file exists, so two
// takers never both win. A holder that crashed (kill -9) leaves the file behind: a taker that finds
// no live process with that pid and start time moves the stale file aside and tries again.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { link, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { GuestgateError } from '../../errors.ts';

export const LOCK_FILE = 'lock';

export interface LockHolder {
  readonly pid: number;
  /** Field 22 of /proc/<pid>/stat: tells a reused pid from the holder. */
  readonly start: string;
  /** "guestgate serve", "guestgate cache gc", ... */
  readonly role: string;
}

export interface CacheLock {
  readonly path: string;
  release(): Promise<void>;
}

function startTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

const alive = (h: LockHolder): boolean => startTime(h.pid) === h.start;

function parseHolder(text: string): LockHolder | undefined {
  try {
    const v = JSON.parse(text) as Partial<LockHolder>;
    if (typeof v.pid === 'number' && typeof v.start === 'string')
      return { pid: v.pid, start: v.start, role: String(v.role ?? '') };
  } catch {
    /* a torn or foreign file: treated as stale */
  }
  return undefined;
}

async function readHolder(path: string): Promise<{ text: string; holder: LockHolder | undefined } | undefined> {
  try {
    const text = await readFile(path, 'utf8');
    return { text, holder: parseHolder(text) };
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

export const lockedError = (cacheDir: string, h: LockHolder): GuestgateError =>
  new GuestgateError(
    'E_CONFLICT',
    `image cache ${cacheDir} is locked by pid ${h.pid} (${h.role || 'unknown'}): one writer at a time; ` +
      'while a gateway runs, the images and cache commands go through its admin API',
    { cache_dir: cacheDir, holder_pid: h.pid, holder: h.role },
  );

/** Take the cache's lock or throw E_CONFLICT naming the live holder. The folder must exist. */
export async function lockCache(cacheDir: string, role: string): Promise<CacheLock> {
  const path = join(cacheDir, LOCK_FILE);
  const me: LockHolder = { pid: process.pid, start: startTime(process.pid) ?? '', role };
  const mine = `${JSON.stringify(me)}\n`;
  for (let attempt = 0; attempt < 5; attempt++) {
    const tmp = join(cacheDir, `.lock.${process.pid}.${randomBytes(6).toString('hex')}`);
    await writeFile(tmp, mine, { mode: 0o644 });
    try {
      await link(tmp, path);
      return {
        path,
        release: async () => {
          if ((await readHolder(path))?.text === mine) await unlink(path).catch(() => {});
        },
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    } finally {
      await unlink(tmp).catch(() => {});
    }
    const found = await readHolder(path);
    if (!found) continue; // released meanwhile
    if (found.holder && alive(found.holder)) throw lockedError(cacheDir, found.holder);
    // Stale: move it aside, and make sure what moved is the stale file (not a fresh holder's).
    const aside = `${path}.stale.${randomBytes(6).toString('hex')}`;
    try {
      await rename(path, aside);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw e;
    }
    const moved = await readHolder(aside);
    if (moved && moved.text !== found.text) await link(aside, path).catch(() => {});
    await unlink(aside).catch(() => {});
  }
  const last = (await readHolder(path))?.holder;
  if (last) throw lockedError(cacheDir, last);
  throw new GuestgateError('E_CONFLICT', `could not take the lock of image cache ${cacheDir}`, { cache_dir: cacheDir });
}

/**
 * A restart's successor: take the lock once `holderPid` (the process handing over) releases it, polling
 * until `timeoutMs`. Any other holder is refused at once, as by lockCache: never two writers.
 */
export async function lockCacheAfter(
  cacheDir: string,
  role: string,
  holderPid: number,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<CacheLock> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await lockCache(cacheDir, role);
    } catch (e) {
      const held = e instanceof GuestgateError && e.fields.holder_pid === holderPid;
      if (!held || Date.now() > until || signal?.aborted) throw e;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}
