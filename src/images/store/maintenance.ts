// Offline cache maintenance (the `cache` and `images` CLI verbs when no gateway runs): named steps
// with per-step figures, on the cache folder directly, under the cache's lock (lock.ts). A running
// gateway does the same through its admin API (online.ts), on its own index.
import { GuestgateError } from '../../errors.ts';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir, readFile, rm, stat } from 'node:fs/promises';
import { Catalog } from './catalog.ts';
import { isDigest } from '../fingerprint.ts';
import { decodeManifest, manifestSize, type Manifest } from './manifest.ts';
import { blobPath, manifestDir, manifestPath } from './paths.ts';
import { ensureLayout, listBlobs, sweepTmp, unlinkBlob, type StoreModes } from './blobs.ts';

export interface StepReport {
  step: string;
  checked: number;
  removed: number;
  bytes: number;
  ms: number;
}

export interface Progress {
  start(label: string, total: number): void;
  add(n: number): void;
  done(): void;
}
const noProgress: Progress = { start() {}, add() {}, done() {} };

export async function readManifests(cacheDir: string): Promise<{ ok: Manifest[]; bad: string[] }> {
  const ok: Manifest[] = [];
  const bad: string[] = [];
  let names: string[] = [];
  try {
    names = await readdir(manifestDir(cacheDir));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  for (const n of names.sort()) {
    const fp = n.replace(/\.json$/, '');
    try {
      if (!isDigest(fp)) throw new Error('bad name');
      ok.push(decodeManifest(await readFile(`${manifestDir(cacheDir)}/${n}`, 'utf8'), fp));
    } catch {
      bad.push(n);
    }
  }
  return { ok, bad };
}

export async function timed(step: string, f: (r: StepReport) => Promise<void>): Promise<StepReport> {
  const r: StepReport = { step, checked: 0, removed: 0, bytes: 0, ms: 0 };
  const t = performance.now();
  await f(r);
  r.ms = Math.round(performance.now() - t);
  return r;
}

export async function hashFile(path: string, onBytes?: (n: number) => void): Promise<string> {
  const h = createHash('sha256');
  for await (const c of createReadStream(path, { highWaterMark: 4 * 1024 * 1024 })) {
    h.update(c as Buffer);
    onBytes?.((c as Buffer).length);
  }
  return h.digest('hex');
}

/** The first step of verify and gc: remove leftover tmp files of interrupted fills. */
const sweepTmpStep = (cacheDir: string): Promise<StepReport> =>
  timed('sweep tmp', async (r) => {
    const s = await sweepTmp(cacheDir);
    r.checked = r.removed = s.files;
    r.bytes = s.bytes;
  });

/** sweep tmp -> check manifests -> re-hash every blob -> drop images with bad blobs -> drop unreferenced blobs. */
export async function verifyCache(
  cacheDir: string,
  modes: StoreModes,
  progress: Progress = noProgress,
): Promise<StepReport[]> {
  await ensureLayout(cacheDir, modes);
  const steps: StepReport[] = [];
  steps.push(await sweepTmpStep(cacheDir));
  let manifests: Manifest[] = [];
  steps.push(
    await timed('check manifests', async (r) => {
      const { ok, bad } = await readManifests(cacheDir);
      r.checked = ok.length + bad.length;
      for (const n of bad) await rm(`${manifestDir(cacheDir)}/${n}`, { force: true });
      r.removed = bad.length;
      manifests = ok;
    }),
  );
  const good = new Set<string>();
  steps.push(
    await timed('re-hash blobs', async (r) => {
      const blobs = await listBlobs(cacheDir);
      let total = 0;
      for (const d of blobs) total += (await stat(blobPath(cacheDir, d))).size;
      progress.start('re-hash blobs', total);
      for (const d of blobs) {
        r.checked++;
        const found = await hashFile(blobPath(cacheDir, d), (n) => {
          r.bytes += n;
          progress.add(n);
        });
        if (found === d) good.add(d);
        else {
          await unlinkBlob(cacheDir, d);
          r.removed++;
        }
      }
      progress.done();
    }),
  );
  steps.push(
    await timed('drop images with missing or bad blobs', async (r) => {
      const keep: Manifest[] = [];
      for (const m of manifests) {
        r.checked++;
        let ok = m.parts.every((p) => good.has(p.digest));
        for (const p of m.parts) if (ok) ok = (await stat(blobPath(cacheDir, p.digest))).size === p.size;
        if (ok) keep.push(m);
        else {
          await rm(manifestPath(cacheDir, m.fingerprint), { force: true });
          r.removed++;
          r.bytes += manifestSize(m);
        }
      }
      manifests = keep;
    }),
  );
  steps.push(await timed('drop unreferenced blobs', (r) => dropUnreferenced(cacheDir, manifests, r)));
  return steps;
}

async function dropUnreferenced(cacheDir: string, manifests: readonly Manifest[], r: StepReport): Promise<void> {
  const refs = new Set(manifests.flatMap((m) => m.parts.map((p) => p.digest)));
  for (const d of await listBlobs(cacheDir)) {
    r.checked++;
    if (refs.has(d)) continue;
    r.bytes += (await stat(blobPath(cacheDir, d))).size;
    await unlinkBlob(cacheDir, d);
    r.removed++;
  }
}

/** sweep tmp -> drop unreferenced blobs -> evict least recently used images down to max_size. */
export async function gcCache(
  cacheDir: string,
  maxSize: number,
  pinned: readonly string[],
  modes: StoreModes,
): Promise<StepReport[]> {
  await ensureLayout(cacheDir, modes);
  const steps: StepReport[] = [];
  steps.push(await sweepTmpStep(cacheDir));
  steps.push(
    await timed('drop unreferenced blobs', async (r) =>
      dropUnreferenced(cacheDir, (await readManifests(cacheDir)).ok, r),
    ),
  );
  steps.push(
    await timed('evict to max_size', async (r) => {
      const before = (await readManifests(cacheDir)).ok;
      r.checked = before.length;
      // Loading the catalog applies the bound (LRU by last use) and drops unusable manifests.
      const { catalog } = await Catalog.load({ cacheDir, maxSize, pinned: new Set(pinned), modes });
      await catalog.settle();
      const after = new Set(catalog.list().map((m) => m.fingerprint));
      for (const m of before)
        if (!after.has(m.fingerprint)) {
          r.removed++;
          r.bytes += manifestSize(m);
        }
    }),
  );
  return steps;
}

/** Resolve a unique fingerprint prefix among cached images. */
export function resolveCached(list: readonly Manifest[], prefix: string): Manifest {
  const hits = list.filter((m) => m.fingerprint.startsWith(prefix.toLowerCase()));
  if (hits.length === 1) return hits[0]!;
  if (hits.length)
    throw new GuestgateError('E_IMAGE_AMBIGUOUS', `more than one cached image matches ${prefix}`, { prefix });
  throw new GuestgateError('E_IMAGE_NOT_FOUND', `no cached image matches ${prefix}`, { prefix });
}
