// A fill reads its upstream into slabs that are read into again once their bytes are on disk and out of
// the in-memory tail (util/slabs.ts). Guests attached to the fill are sent those bytes while they stream:
// a fast guest, a guest that keeps pausing (so it falls behind the tail and reads the tmp file while the
// slabs it was once offered are overwritten), and a guest that joins half-way must each get exactly the
// image's bytes, for a unified image (one body) and a split one (multipart), and the slabs must really
// have been reused (else this proves nothing). The cached copy read afterwards must be exact too.
import http from 'node:http';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdir, rename } from 'node:fs/promises';
import { splitImage, unifiedImage, writeToDir, type MadeImage } from '../../fixtures/images/make.ts';
import { slabStats } from '../../src/util/slabs.ts';
import { exportServer, lxdUpstreamConfig, nestedClientAccepts, service, type Got } from '../helpers/images.ts';
import { fakeLxdWorld } from '../helpers/lxd-world.ts';

const MiB = 1024 * 1024;
const w = fakeLxdWorld();

/** One export; every `pauseEvery` bytes the reader stops for a moment; `onBytes` sees progress. */
function pull(fp: string, opts: { pauseEvery?: number; onBytes?: (n: number) => void } = {}): Promise<Got> {
  return new Promise((resolve, reject) => {
    const req = http.get(
      {
        socketPath: w.srv!.socket,
        path: `/1.0/images/${fp}/export`,
        headers: { host: 'unix.socket', connection: 'close' },
      },
      (res) => {
        const chunks: Buffer[] = [];
        let bytes = 0;
        let sincePause = 0;
        res.on('data', (c: Buffer) => {
          chunks.push(c);
          bytes += c.length;
          sincePause += c.length;
          opts.onBytes?.(bytes);
          if (opts.pauseEvery && sincePause >= opts.pauseEvery) {
            sincePause = 0;
            res.pause();
            setTimeout(() => res.resume(), 2);
          }
        });
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks),
            complete: res.complete,
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
  });
}

async function guestsAgree(img: MadeImage): Promise<void> {
  w.srv = await exportServer(w.svc!, join(w.dir, 'guest.sock'));
  const reused0 = slabStats.reused;
  let late: Promise<Got> | undefined;
  const fast = pull(img.fingerprint, {
    onBytes: (n) => {
      if (!late && n >= 24 * MiB) late = pull(img.fingerprint, { pauseEvery: MiB });
    },
  });
  const slow = pull(img.fingerprint, { pauseEvery: 256 * 1024 });
  const results = [await fast, await slow];
  expect(late, 'the late guest was started').toBeDefined();
  results.push(await late!);
  results.push(await pull(img.fingerprint)); // from the cache: what reached the disk
  for (const r of results) expect(await nestedClientAccepts(r, img.fingerprint)).toMatchObject({ ok: true });
  expect(slabStats.reused - reused0, 'slabs read into again during the fill').toBeGreaterThan(0);
}

describe('slab reuse under guests attached to a fill', () => {
  it.each([
    ['unified', () => unifiedImage(80 * MiB, 'none')],
    ['split (multipart)', () => splitImage(80 * MiB)],
  ] as const)(
    'LXD upstream, %s: every guest gets exactly the image while slabs are read into again',
    async (_kind, make) => {
      const img = await make();
      w.lxd.images.set(img.fingerprint, { img, public: true, cached: false });
      w.svc = await service(join(w.dir, 'state'), { upstreams: [lxdUpstreamConfig(w.lxd.socket)] });
      await guestsAgree(img);
      expect(w.lxd.exports).toBe(1);
    },
  );

  it.each([
    ['unified', () => unifiedImage(80 * MiB, 'none')],
    ['split', () => splitImage(80 * MiB)],
  ] as const)('dir upstream, %s: the same', async (_kind, make) => {
    const img = await make();
    const dir = join(w.dir, 'upstream');
    await mkdir(dir);
    await writeToDir(dir, img);
    w.svc = await service(join(w.dir, 'state'), { upstreams: [{ type: 'dir', path: dir, public: true }] });
    await guestsAgree(img);
  });

  it('dir upstream: an image file swapped for a FIFO after it was found fails the fill instead of hanging it', async () => {
    const img = await unifiedImage(1024, 'none');
    const dir = join(w.dir, 'upstream');
    await mkdir(dir);
    await writeToDir(dir, img);
    w.svc = await service(join(w.dir, 'state'), { upstreams: [{ type: 'dir', path: dir, public: true }] });
    w.srv = await exportServer(w.svc, join(w.dir, 'guest.sock'));
    // Found (and its metadata read) first, then swapped: the fill's open meets the FIFO.
    expect(await w.svc.lookup(img.fingerprint, 'exact')).toBeDefined();
    await rename(join(dir, img.fingerprint), join(dir, 'moved'));
    execFileSync('mkfifo', [join(dir, img.fingerprint)]);
    const r = await pull(img.fingerprint);
    expect(r.status).toBeGreaterThanOrEqual(500);
    // Refused by the fetch's own check, or (if the swap lands between that and the open) by the
    // non-blocking open's fstat: either way an error, never a fill stuck on open(2) of a FIFO.
    expect(r.body.toString()).toMatch(/disappeared|no longer a regular file/);
  });
});
