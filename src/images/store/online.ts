// Cache maintenance inside the running gateway (admin API: POST /1.0/cache/verify and /gc): the
// same named steps as the offline verbs, but decided on the daemon's own index, so nothing it
// serves disappears behind its back. Tmp files of fills in progress and blobs committed but not yet
// indexed are live and left alone; removals go through the catalog.
import { readFile, stat } from 'node:fs/promises';
import type { Catalog } from './catalog.ts';
import { listBlobs, sweepTmp, unlinkBlob, type LiveTmp } from './blobs.ts';
import { hashFile, timed, type Progress, type StepReport } from './maintenance.ts';
import { decodeManifest, manifestSize } from './manifest.ts';
import { blobPath, manifestPath } from './paths.ts';

export interface OnlineStore {
  readonly cacheDir: string;
  readonly catalog: Catalog;
  readonly live: LiveTmp;
}

const sweepStep = (s: OnlineStore): Promise<StepReport> =>
  timed('sweep tmp', async (r) => {
    const swept = await sweepTmp(s.cacheDir, s.live);
    r.checked = r.removed = swept.files;
    r.bytes = swept.bytes;
  });

const sizeOf = async (p: string): Promise<number | undefined> => (await stat(p).catch(() => undefined))?.size;

/** Unlink a blob nobody references, atomically with respect to blob commits. */
const dropIfUnused = (s: OnlineStore, d: string): Promise<boolean> =>
  s.live.exclusive(async () => {
    if (s.catalog.isReferenced(d) || s.live.hasBlob(d)) return false;
    await unlinkBlob(s.cacheDir, d);
    return true;
  });

async function dropUnreferenced(s: OnlineStore, r: StepReport): Promise<void> {
  for (const d of await listBlobs(s.cacheDir)) {
    r.checked++;
    const size = (await sizeOf(blobPath(s.cacheDir, d))) ?? 0;
    if (await dropIfUnused(s, d)) {
      r.removed++;
      r.bytes += size;
    }
  }
}

/** Remove every indexed image that uses blob `d` (its other blobs go when unreferenced). */
async function dropImagesUsing(s: OnlineStore, d: string): Promise<number> {
  const users = s.catalog.list().filter((m) => m.parts.some((p) => p.digest === d));
  for (const m of users) await s.catalog.remove(m.fingerprint);
  return users.length;
}

export async function verifyOnline(s: OnlineStore, progress?: Progress): Promise<StepReport[]> {
  const steps: StepReport[] = [await sweepStep(s)];
  steps.push(
    await timed('check manifests', async (r) => {
      // The index is the truth: a manifest file that went missing or bad on disk is written again.
      for (const m of s.catalog.list()) {
        r.checked++;
        const text = await readFile(manifestPath(s.cacheDir, m.fingerprint), 'utf8').catch(() => '');
        try {
          decodeManifest(text, m.fingerprint);
        } catch {
          await s.catalog.setPinned(m.fingerprint, m.pinned);
          r.removed++;
        }
      }
    }),
  );
  let badImages = 0;
  steps.push(
    await timed('re-hash blobs', async (r) => {
      const blobs = await listBlobs(s.cacheDir);
      let total = 0;
      for (const d of blobs) total += (await sizeOf(blobPath(s.cacheDir, d))) ?? 0;
      progress?.start('re-hash blobs', total);
      for (const d of blobs) {
        if (s.live.hasBlob(d)) continue; // a fill verified it a moment ago
        let found: string | undefined;
        try {
          found = await hashFile(blobPath(s.cacheDir, d), (n) => {
            r.bytes += n;
            progress?.add(n);
          });
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e; // evicted meanwhile
        }
        r.checked++;
        if (found === undefined || found === d) continue;
        badImages += await dropImagesUsing(s, d);
        await s.live.exclusive(() => unlinkBlob(s.cacheDir, d));
        r.removed++;
      }
      progress?.done();
    }),
  );
  steps.push(
    await timed('drop images with missing or bad blobs', async (r) => {
      r.removed = badImages;
      for (const m of s.catalog.list()) {
        r.checked++;
        let ok = true;
        for (const p of m.parts) if (ok) ok = (await sizeOf(blobPath(s.cacheDir, p.digest))) === p.size;
        if (ok) continue;
        await s.catalog.remove(m.fingerprint);
        r.removed++;
        r.bytes += manifestSize(m);
      }
    }),
  );
  steps.push(await timed('drop unreferenced blobs', (r) => dropUnreferenced(s, r)));
  return steps;
}

/** sweep tmp -> drop unreferenced blobs -> evict to max_size (the daemon's bound, enforced on every add). */
export async function gcOnline(s: OnlineStore): Promise<StepReport[]> {
  const steps: StepReport[] = [await sweepStep(s)];
  steps.push(await timed('drop unreferenced blobs', (r) => dropUnreferenced(s, r)));
  steps.push(
    await timed('evict to max_size', async (r) => {
      r.checked = s.catalog.list().length;
      r.removed = s.catalog.enforceBound().length;
      await s.catalog.settle();
    }),
  );
  return steps;
}
