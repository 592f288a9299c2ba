// An upstream may state each part's own sha256 (simplestreams items do): the fill checks it with the
// hashes it computes anyway, and a part whose bytes do not match is refused with E_INTEGRITY naming the
// part, even when the combined digest would have matched (a catalog that lies about one item), for a
// split part (checked at its end) and a unified file (checked with the combined digest).
import { createHash } from 'node:crypto';
import { mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { splitImage, unifiedImage, type MadeImage } from '../../fixtures/images/make.ts';
import { Fill } from '../../src/images/fill/fill.ts';
import { storeModes } from '../../src/images/store/blobs.ts';
import { tmpDir } from '../../src/images/store/paths.ts';
import type { PartDigest, Upstream } from '../../src/images/upstreams/types.ts';
import { tempDir } from '../helpers/images.ts';

let t: { dir: string; cleanup: () => Promise<void> };
beforeEach(async () => {
  t = await tempDir();
  await mkdir(tmpDir(join(t.dir, 'cache')), { recursive: true });
});
afterEach(async () => {
  await t.cleanup();
});

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/** An upstream that sends `img` and states `stated(i)` as part i's sha256. */
function upstream(img: MadeImage, stated: (i: number, real: string) => string | undefined): Upstream {
  return {
    name: 'test:up',
    find: async () => [],
    async fetch(_image, sink) {
      const roles = img.kind === 'unified' ? (['unified'] as const) : (['metadata', 'rootfs'] as const);
      for (const [i, role] of roles.entries()) {
        const bytes = img.files[i]!;
        await sink.startPart(role, bytes.length);
        for (let at = 0; at < bytes.length; at += 1 << 20) await sink.write(bytes.subarray(at, at + (1 << 20)));
        const s = stated(i, sha(bytes));
        const expect: PartDigest | undefined = s ? { sha256: s, what: `item ${i}` } : undefined;
        await sink.endPart(expect);
      }
    },
  };
}

async function fill(img: MadeImage, stated: (i: number, real: string) => string | undefined) {
  const cacheDir = join(t.dir, 'cache');
  const f = new Fill(img.fingerprint, { cacheDir, modes: storeModes() });
  const image = { fingerprint: img.fingerprint, public: true, cached: false, kind: img.kind } as const;
  const run = f.run([{ upstream: upstream(img, stated), image }]);
  return { run, leftovers: async () => readdir(tmpDir(cacheDir)) };
}

const lie = (i: number) => (j: number, real: string) => (j === i ? '0'.repeat(64) : real);

it.each([
  ['a split metadata part', () => splitImage(64 * 1024), 0],
  ['a split rootfs part (worker-hashed)', () => splitImage(20 * 1024 * 1024), 1],
  ['a unified file', () => unifiedImage(20 * 1024 * 1024, 'none'), 0],
] as const)('%s stated wrongly: E_INTEGRITY naming it, nothing committed', async (_what, make, i) => {
  const img = await make();
  const { run, leftovers } = await fill(img, lie(i));
  await expect(run).rejects.toMatchObject({ code: 'E_INTEGRITY', message: `item ${i} sha256 mismatch` });
  expect(await leftovers()).toEqual([]);
});

it('parts stated rightly (or not at all) fill as usual', async () => {
  const img = await splitImage(20 * 1024 * 1024);
  const { run } = await fill(img, (j, real) => (j === 0 ? real : undefined));
  await expect(run).resolves.toMatchObject({ kind: 'split' });
});
