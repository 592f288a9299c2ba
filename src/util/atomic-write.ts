// Durable writes, written once for every caller (state files, the inventory folder, the image
// cache): data goes to a tmp file that is fsynced, renamed over the target, and the target's folder
// is fsynced, so after a crash the old or the new content is there, never a mix or nothing.
import { mkdir, open, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';

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
 * Several files replaced at once (a group commit): every tmp file written and fsynced side by side,
 * renamed (a file named twice ends with its last entry), then each folder fsynced once.
 * One result per entry, in order; a failed entry leaves its old file and no tmp file behind.
 */
export async function writeFilesAtomic(
  entries: readonly { readonly file: string; readonly data: string | Uint8Array; readonly mode: number }[],
): Promise<PromiseSettledResult<void>[]> {
  const written = await Promise.allSettled(
    entries.map(async (e) => {
      const tmp = tmpNameFor(e.file);
      await writeTmp(tmp, e.data, e.mode);
      return tmp;
    }),
  );
  // Renamed side by side, except entries for the same file: those in order, so the last one wins.
  const renamed: PromiseSettledResult<void>[] = new Array(entries.length);
  const byFile = new Map<string, number[]>();
  for (const [i, e] of entries.entries()) byFile.set(e.file, [...(byFile.get(e.file) ?? []), i]);
  await Promise.all(
    [...byFile.values()].map(async (idx) => {
      for (const i of idx) {
        const w = written[i]!;
        if (w.status === 'rejected') renamed[i] = w;
        else
          renamed[i] = await rename(w.value, entries[i]!.file).then(
            () => ({ status: 'fulfilled', value: undefined }) as const,
            async (reason: unknown) => {
              await unlink(w.value).catch(() => {});
              return { status: 'rejected', reason } as const;
            },
          );
      }
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

const tmpNameFor = (file: string): string =>
  join(dirname(file), `.${basename(file)}.${randomBytes(6).toString('hex')}.tmp`);

/** `data` in a new file `tmp` (exactly `mode`, whatever the umask), fsynced and closed; removed on failure. */
async function writeTmp(tmp: string, data: string | Uint8Array, mode: number): Promise<void> {
  const fh = await open(tmp, 'wx', mode);
  try {
    await fh.chmod(mode);
    await fh.writeFile(data);
    await fh.sync();
  } catch (e) {
    await fh.close().catch(() => {});
    await unlink(tmp).catch(() => {});
    throw e;
  }
  await fh.close();
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
