// Junk is no image: `guestgate images import` refuses it with exit 2 naming what is missing, and a fill
// whose bytes match the fingerprint but are no LXD image commits nothing.
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { metadataYaml, sha256, tarball, unifiedImage } from '../../fixtures/images/make.ts';
import { listBlobs } from '../../src/images/store/blobs.ts';
import { cli } from '../helpers/service.ts';
import { cliWorkspace, exportServer, get, service } from '../helpers/images.ts';
import { waitFor } from '../helpers/wait.ts';

let t: { dir: string; cleanup: () => Promise<void> };
let config: string;
beforeEach(async () => {
  const w = await cliWorkspace();
  t = w;
  config = w.config;
});
afterEach(() => t.cleanup());

const cachedBlobs = async () =>
  (await readdir(join(t.dir, 'cache'), { recursive: true })).filter((f) => f.includes('blobs/'));

describe('images import refuses what is no LXD image', () => {
  it('1 MiB of random bytes: exit 2, the message says no tarball magic, nothing cached', async () => {
    const junk = join(t.dir, 'junk.bin');
    await writeFile(junk, randomBytes(1024 * 1024));
    const r = await cli(['images', 'import', junk, '--config', config]);
    expect(r.stderr).toContain(`${junk}: not an image tarball (no tar, gzip, xz, lzma, bzip2 or zstd magic`);
    expect(r.code).toBe(2);
    expect(await cachedBlobs()).toEqual([]);
  });

  it('a tarball without metadata.yaml, and one without rootfs or creation_date: each named', async () => {
    const noMeta = join(t.dir, 'nometa.tar.gz');
    await writeFile(noMeta, await tarball({ 'rootfs/etc/hostname': 'x\n' }));
    let r = await cli(['images', 'import', noMeta, '--config', config]);
    expect(r.stderr).toContain(`${noMeta}: no metadata.yaml in the .tar.gz tarball`);
    expect(r.code).toBe(2);
    const noRootfs = join(t.dir, 'norootfs.tar.gz');
    await writeFile(noRootfs, await tarball({ 'metadata.yaml': 'architecture: x86_64\n' }));
    r = await cli(['images', 'import', noRootfs, '--config', config]);
    expect(r.stderr).toContain('metadata.yaml has no creation_date');
    expect(r.stderr).toContain('no rootfs/ folder nor rootfs.img');
    expect(r.code).toBe(2);
  });

  it('a split image whose rootfs is junk', async () => {
    const meta = join(t.dir, 'meta.tar.gz');
    const rootfs = join(t.dir, 'rootfs.bin');
    await writeFile(meta, await tarball({ 'metadata.yaml': metadataYaml() }));
    await writeFile(rootfs, Buffer.alloc(4096, 7));
    const r = await cli(['images', 'import', '--split', meta, rootfs, '--config', config]);
    expect(r.stderr).toContain(`${rootfs}: a container rootfs must be squashfs or a tarball`);
    expect(r.code).toBe(2);
  });

  it('a missing file: exit 2 naming it, no raw ENOENT', async () => {
    const missing = join(t.dir, 'nope.tar.gz');
    const r = await cli(['images', 'import', missing, '--config', config]);
    expect(r.stderr).toBe(`guestgate: ${missing}: no such file\n`);
    expect(r.code).toBe(2);
  });

  it('positive control: a real image imports (exit 0)', async () => {
    const u = await unifiedImage(64 * 1024);
    const file = join(t.dir, 'u.tar.gz');
    await writeFile(file, u.files[0]!);
    const r = await cli(['images', 'import', file, '-o', 'json', '--config', config]);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject([{ fingerprint: u.fingerprint }]);
  });
});

describe('a fill checks the image before committing it', () => {
  it('junk named by its own sha256 in a dir upstream: the export fails, nothing is committed', async () => {
    const up = join(t.dir, 'upstream');
    await mkdir(up);
    const junk = randomBytes(1024 * 1024);
    const fp = sha256(junk);
    await writeFile(join(up, fp), junk);
    const svc = await service(join(t.dir, 'state'), { upstreams: [{ type: 'dir', path: up, public: true }] });
    const srv = await exportServer(svc, join(t.dir, 'guest.sock'));
    try {
      // Positive control on the upstream: the junk is listed under its fingerprint.
      expect(await svc.lookup(fp, 'exact'), 'the dir upstream lists the junk file').toBeDefined();
      const r = await get(srv.socket, `/1.0/images/${fp}/export`).catch((e: Error) => e);
      // The bytes streamed as they arrived; the end is cut (or an error) once the check refuses them.
      if (!(r instanceof Error)) expect(r.status === 200 && r.complete).toBe(false);
      await waitFor('the fill to fail', () => srv.errors.length > 0 || svc.stats().fillFailures > 0);
      expect(svc.stats().fillFailures).toBe(1);
      expect(await svc.list()).toEqual([]);
    } finally {
      await srv.close();
      await svc.close();
    }
    expect(await listBlobs(svc.cacheDir)).toEqual([]);
  });
});
