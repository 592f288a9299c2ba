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
  tmp = join(dirname(file), `.${basename(file)}.${randomBytes(6).toString('hex')}.tmp`),
): Promise<void> {
  const fh = await open(tmp, 'wx', mode);
  try {
    await fh.chmod(mode); // exactly `mode`, whatever the umask
    await fh.writeFile(data);
    await fh.sync();
  } catch (e) {
    await fh.close().catch(() => {});
    await unlink(tmp).catch(() => {});
    throw e;
  }
  await fh.close();
  await commitFile(tmp, file);
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
