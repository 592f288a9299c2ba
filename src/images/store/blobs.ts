// Blob store operations on disk. Blobs enter the store only by rename() of a fully written,
// fsynced, verified tmp file (and an fsync of the folder), so anything under content-v1 was
// verified when it arrived and survives a crash once committed.
import { randomBytes } from 'node:crypto';
import { chmod, open, readdir, rm, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { commitFile, mkdirDurable, writeFileAtomic } from '../../util/atomic-write.ts';
import { isDigest } from '../fingerprint.ts';
import { CACHEDIR_TAG, blobPath, contentRoot, manifestDir, tmpDir } from './paths.ts';

/** Permissions of what the cache creates: files (images.file_mode) and folders (the same plus x where r). */
export interface StoreModes {
  readonly file: number;
  readonly dir: number;
}

/** Private by default: images may be private, and the cache is root's. */
export const storeModes = (fileMode = 0o600): StoreModes => ({
  file: fileMode,
  dir: fileMode | ((fileMode & 0o444) >> 2) | 0o700,
});

export async function ensureLayout(cacheDir: string, modes: StoreModes): Promise<void> {
  for (const d of [contentRoot(cacheDir), manifestDir(cacheDir), tmpDir(cacheDir)]) await mkdirDurable(d, modes.dir);
  // mkdir's mode applies to new folders only (and passes the umask): set the layout's folders explicitly.
  for (const d of [
    cacheDir,
    dirname(contentRoot(cacheDir)),
    contentRoot(cacheDir),
    manifestDir(cacheDir),
    tmpDir(cacheDir),
  ])
    await chmod(d, modes.dir);
  await writeFileAtomic(join(cacheDir, 'CACHEDIR.TAG'), CACHEDIR_TAG, modes.file, tmpName(cacheDir, 'tag'));
}

/** A fresh tmp file name; opened with 'wx' so two fills never share one. */
export const tmpName = (cacheDir: string, label: string): string =>
  join(tmpDir(cacheDir), `${label}.${randomBytes(6).toString('hex')}.tmp`);

/**
 * What a running service is writing right now, which an online sweep or gc must leave alone: tmp
 * files being filled, and blobs committed whose manifest is not written yet.
 */
export class LiveTmp {
  readonly #paths = new Set<string>();
  readonly #blobs = new Map<string, number>();
  holdBlob(digest: string): void {
    this.#blobs.set(digest, (this.#blobs.get(digest) ?? 0) + 1);
  }
  releaseBlob(digest: string): void {
    const n = (this.#blobs.get(digest) ?? 1) - 1;
    if (n <= 0) this.#blobs.delete(digest);
    else this.#blobs.set(digest, n);
  }
  hasBlob(digest: string): boolean {
    return this.#blobs.has(digest);
  }
  #chain: Promise<unknown> = Promise.resolve();
  /** Run `f` alone: blob commits and online unlinks never interleave. */
  exclusive<T>(f: () => Promise<T>): Promise<T> {
    const r = this.#chain.then(f);
    this.#chain = r.catch(() => {});
    return r;
  }
  claim(cacheDir: string, label: string): string {
    const p = tmpName(cacheDir, label);
    this.#paths.add(p);
    return p;
  }
  release(path: string): void {
    this.#paths.delete(path);
  }
  has(path: string): boolean {
    return this.#paths.has(path);
  }
}

/** Remove leftover tmp files (a crash or kill mid-fill), except those `live` names. Returns what was removed. */
export async function sweepTmp(cacheDir: string, live?: LiveTmp): Promise<{ files: number; bytes: number }> {
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
    if (live?.has(p)) continue;
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

/**
 * Move a verified tmp file to its content address (atomic; an existing blob has the same bytes).
 * With `live`, the blob stays held (safe from an online gc) until the caller calls releaseBlob.
 */
export async function commitBlob(
  cacheDir: string,
  tmp: string,
  digest: string,
  modes: StoreModes,
  live?: LiveTmp,
): Promise<string> {
  const dest = blobPath(cacheDir, digest);
  const commit = async (): Promise<string> => {
    await mkdirDurable(dirname(dest), modes.dir);
    await commitFile(tmp, dest);
    return dest;
  };
  if (!live) return commit();
  live.holdBlob(digest);
  const done = await live.exclusive(commit);
  live.release(tmp);
  return done;
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

/** Write a small file (a manifest) durably, through a tmp file in the cache's tmp folder. */
export async function writeAtomic(
  cacheDir: string,
  dest: string,
  data: string,
  modes: StoreModes,
  live?: LiveTmp,
): Promise<void> {
  const tmp = live ? live.claim(cacheDir, 'manifest') : tmpName(cacheDir, 'manifest');
  try {
    await writeFileAtomic(dest, data, modes.file, tmp);
  } finally {
    live?.release(tmp);
  }
}
