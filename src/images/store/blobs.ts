// Blob store operations on disk. Blobs enter the store only by rename() of a fully written,
// fsynced, verified tmp file, so anything under content-v1 was verified when it arrived.
import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, rename, rm, unlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { isDigest } from '../fingerprint.ts';
import { CACHEDIR_TAG, blobPath, contentRoot, manifestDir, tmpDir } from './paths.ts';

export async function ensureLayout(cacheDir: string): Promise<void> {
  await mkdir(contentRoot(cacheDir), { recursive: true });
  await mkdir(manifestDir(cacheDir), { recursive: true });
  await mkdir(tmpDir(cacheDir), { recursive: true });
  await writeFile(join(cacheDir, 'CACHEDIR.TAG'), CACHEDIR_TAG);
}

/** A fresh tmp file name; opened with 'wx' so two fills never share one. */
export const tmpName = (cacheDir: string, label: string): string =>
  join(tmpDir(cacheDir), `${label}.${randomBytes(6).toString('hex')}.tmp`);

/** Remove every leftover tmp file (a crash or kill mid-fill). Returns what was removed. */
export async function sweepTmp(cacheDir: string): Promise<{ files: number; bytes: number }> {
  const dir = tmpDir(cacheDir);
  let files = 0;
  let bytes = 0;
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { files, bytes };
    throw e;
  }
  for (const n of names) {
    const p = join(dir, n);
    try {
      const fh = await open(p, 'r');
      bytes += (await fh.stat()).size;
      await fh.close();
    } catch {
      /* counted as zero */
    }
    await rm(p, { force: true, recursive: true });
    files++;
  }
  return { files, bytes };
}

/** Move a verified tmp file to its content address (atomic; an existing blob has the same bytes). */
export async function commitBlob(cacheDir: string, tmp: string, digest: string): Promise<string> {
  const dest = blobPath(cacheDir, digest);
  await mkdir(dirname(dest), { recursive: true });
  await rename(tmp, dest);
  return dest;
}

export async function unlinkBlob(cacheDir: string, digest: string): Promise<void> {
  try {
    await unlink(blobPath(cacheDir, digest));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
}

/** Every blob digest on disk (names that are not digests are skipped, never deleted here). */
export async function listBlobs(cacheDir: string): Promise<string[]> {
  const root = contentRoot(cacheDir);
  const out: string[] = [];
  const ls = async (p: string): Promise<string[]> => {
    try {
      return await readdir(p);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT' || (e as NodeJS.ErrnoException).code === 'ENOTDIR') return [];
      throw e;
    }
  };
  for (const a of await ls(root))
    for (const b of await ls(join(root, a)))
      for (const n of await ls(join(root, a, b))) if (isDigest(n) && n.startsWith(a + b)) out.push(n);
  return out;
}

/** Write a small file atomically: tmp ('wx') -> fsync -> rename. */
export async function writeAtomic(cacheDir: string, dest: string, data: string): Promise<void> {
  const tmp = tmpName(cacheDir, 'manifest');
  const fh = await open(tmp, 'wx');
  try {
    await fh.writeFile(data);
    await fh.sync();
    await fh.close();
    await rename(tmp, dest);
  } catch (e) {
    await fh.close().catch(() => {});
    await rm(tmp, { force: true });
    throw e;
  }
}
