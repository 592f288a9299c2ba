// Durable writes of small files, written once for every caller (state files, the inventory folder, the
// image cache's manifests, seeds): data goes to a tmp file that is fsynced, renamed over the target,
// and the target's folder is fsynced, so after a crash the old or the new content is there, never a
// mix or nothing. Images themselves are written by the fill (images/fill), not here.
import { closeSync, fchmodSync, fsync, lstatSync, open as openCb, writeFileSync } from 'node:fs';
import { mkdir, open, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';

/** Replace `file` with `data`. The tmp file defaults to a dot-file next to it (see isTmpName). */
export async function writeFileAtomic(
  file: string,
  data: string | Uint8Array,
  mode = 0o644,
  tmp = tmpNameFor(file),
): Promise<void> {
  await writeTmp(tmp, data, mode);
  await commitFile(tmp, file);
}

/**
 * Several small files replaced at once (a group commit): each file goes through its own pipeline (tmp
 * file written, fsynced, then renamed at once, so renames overlap the other files' fsyncs), then each
 * folder is fsynced once, after every rename. Entries for the same file are renamed in order, so the
 * last one wins. `keepMode`: the file keeps the mode it has now (`mode` is for a new file).
 * One result per entry, in order; a failed entry leaves its old file and no tmp file behind; none is
 * fulfilled before its folder's fsync.
 * Only the open, the fsync and the rename go to the thread pool; the mode lookup, fchmod and the write
 * into the page cache are done in place (with 100 files at once, 7 pool round trips per file, each
 * waking a pool thread, were most of a group commit's event-loop time on 2 cores).
 */
export async function writeFilesAtomic(
  entries: readonly {
    readonly file: string;
    readonly data: string | Uint8Array;
    readonly mode: number;
    readonly keepMode?: boolean;
  }[],
): Promise<PromiseSettledResult<void>[]> {
  const lastRename = new Map<string, Promise<unknown>>();
  const renamed = await Promise.allSettled(
    entries.map((e) => {
      const tmp = tmpNameFor(e.file);
      const written = writeTmp(tmp, e.data, e.keepMode ? modeOf(e.file, e.mode) : e.mode);
      const before = lastRename.get(e.file);
      const done = (before ? Promise.allSettled([before, written]) : written).then(async () => {
        await written; // this entry's own failure, not an earlier entry's
        await rename(tmp, e.file).catch(async (err: unknown) => {
          await unlink(tmp).catch(() => {});
          throw err;
        });
      });
      lastRename.set(e.file, done);
      return done;
    }),
  );
  const dirs = new Set(entries.filter((_, i) => renamed[i]!.status === 'fulfilled').map((e) => dirname(e.file)));
  const dirErrors = new Map<string, unknown>();
  await Promise.all([...dirs].map((d) => fsyncDir(d).catch((e: unknown) => void dirErrors.set(d, e))));
  return renamed.map((r, i) => {
    const dir = dirname(entries[i]!.file);
    return r.status === 'fulfilled' && dirErrors.has(dir) ? { status: 'rejected', reason: dirErrors.get(dir) } : r;
  });
}

/** Tmp names: this process's random prefix and a counter (one random draw per name cost ~10 us). */
const tmpPrefix = randomBytes(4).toString('hex');
let tmpCount = 0;
const tmpNameFor = (file: string): string =>
  join(dirname(file), `.${basename(file)}.${tmpPrefix}${(tmpCount++).toString(36)}.tmp`);

/** The mode of `file` if it is a regular file now, else `fallback`. */
function modeOf(file: string, fallback: number): number {
  try {
    const st = lstatSync(file);
    return st.isFile() ? st.mode & 0o7777 : fallback;
  } catch {
    return fallback;
  }
}

const fsyncFd = promisify(fsync);
const openFd = promisify(openCb);

/**
 * `data` in a new file `tmp` (exactly `mode`, whatever the umask), fsynced and closed; removed on
 * failure. Opened and fsynced on the thread pool, filled and chmodded in place: the open waits for the
 * folder's lock and the journal while other files are renamed and fsynced, so it must not run on the
 * event loop; a small write into the page cache does not wait.
 */
async function writeTmp(tmp: string, data: string | Uint8Array, mode: number): Promise<void> {
  const fd = await openFd(tmp, 'wx', mode);
  try {
    fchmodSync(fd, mode);
    writeFileSync(fd, data);
    await fsyncFd(fd);
  } catch (e) {
    closeSync(fd);
    await unlink(tmp).catch(() => {});
    throw e;
  }
  closeSync(fd);
}

/** Move a complete, fsynced file into place and make the rename itself durable (fsync its folder). */
export async function commitFile(tmp: string, file: string): Promise<void> {
  try {
    await rename(tmp, file);
  } catch (e) {
    await unlink(tmp).catch(() => {});
    throw e;
  }
  await fsyncDir(dirname(file));
}

/** mkdir -p that makes each folder it creates durable (fsyncs the parent of every new folder). */
export async function mkdirDurable(dir: string, mode: number): Promise<void> {
  const first = await mkdir(dir, { recursive: true, mode });
  if (first === undefined) return;
  for (let d = dir; ; d = dirname(d)) {
    await fsyncDir(dirname(d));
    if (d === first || dirname(d) === d) return;
  }
}

export async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

export const isTmpName = (name: string): boolean => name.startsWith('.') && name.endsWith('.tmp');
