// What the cache creates is private by default (images may be private; the cache is root's):
// folders 0700, blobs, manifests and CACHEDIR.TAG 0600; images.file_mode opens it up on purpose.
import { stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { splitImage, unifiedImage } from '../../fixtures/images/make.ts';
import type { ImageService } from '../../src/images/index.ts';
import { blobPath, contentRoot, manifestDir, manifestPath, tmpDir } from '../../src/images/store/paths.ts';
import { service, tempDir } from '../helpers/images.ts';

let t: { dir: string; cleanup: () => Promise<void> };
let svc: ImageService | undefined;
beforeEach(async () => {
  t = await tempDir();
});
afterEach(async () => {
  await svc?.close();
  svc = undefined;
  await t.cleanup();
});

const modeOf = async (p: string): Promise<string> => ((await stat(p)).mode & 0o777).toString(8).padStart(4, '0');

/** Import a public unified image and a private split one; return every path the cache made for them. */
async function fillCache(s: ImageService): Promise<{ dirs: string[]; files: string[] }> {
  const pub = await unifiedImage(64 * 1024);
  const priv = await splitImage(64 * 1024);
  const paths = [join(t.dir, 'pub.tar.gz'), join(t.dir, 'meta.tar.xz'), join(t.dir, 'rootfs.squashfs')];
  await writeFile(paths[0]!, pub.files[0]!);
  await writeFile(paths[1]!, priv.files[0]!);
  await writeFile(paths[2]!, priv.files[1]!);
  const a = await s.import([paths[0]!]);
  const b = await s.import([paths[1]!, paths[2]!], { public: false });
  expect(b.public).toBe(false);
  const blobs = [...a.parts, ...b.parts].map((p) => blobPath(s.cacheDir, p.digest));
  const dirs = [
    s.cacheDir,
    dirname(contentRoot(s.cacheDir)),
    contentRoot(s.cacheDir),
    manifestDir(s.cacheDir),
    tmpDir(s.cacheDir),
    ...blobs.flatMap((p) => [dirname(p), dirname(dirname(p))]),
  ];
  const files = [
    join(s.cacheDir, 'CACHEDIR.TAG'),
    ...blobs,
    manifestPath(s.cacheDir, a.fingerprint),
    manifestPath(s.cacheDir, b.fingerprint),
  ];
  return { dirs, files };
}

describe('cache file modes', () => {
  it('folders 0700 and files 0600 by default, private images included', async () => {
    svc = await service(join(t.dir, 'state'));
    const { dirs, files } = await fillCache(svc);
    for (const d of dirs) expect([d, await modeOf(d)]).toEqual([d, '0700']);
    for (const f of files) expect([f, await modeOf(f)]).toEqual([f, '0600']);
  });

  it('images.file_mode 0640 gives files 0640 and folders 0750', async () => {
    const old = process.umask(0o022);
    try {
      svc = await service(join(t.dir, 'state'), { file_mode: 0o640 });
      const { dirs, files } = await fillCache(svc);
      for (const d of dirs) expect([d, await modeOf(d)]).toEqual([d, '0750']);
      for (const f of files) expect([f, await modeOf(f)]).toEqual([f, '0640']);
    } finally {
      process.umask(old);
    }
  });
});
