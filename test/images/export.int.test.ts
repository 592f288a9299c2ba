// Exports through a real unix socket from a dir upstream: miss then hit, headers as LXD sends them,
// Range/HEAD/If-Modified-Since, split images, hostile fingerprints, ambiguity, privacy, restart.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdir, readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { splitImage, unifiedImage, unifiedVmImage, writeToDir, type MadeImage } from '../../fixtures/images/make.ts';
import type { ImageService } from '../../src/images/index.ts';
import { blobPath, tmpDir } from '../../src/images/store/paths.ts';
import { exportServer, get, nestedClientAccepts, service, tempDir, type ExportServer } from '../helpers/images.ts';

let t: { dir: string; cleanup: () => Promise<void> };
let svc: ImageService;
let srv: ExportServer;
let upstreamDir: string;
const exportPath = (fp: string): string => `/1.0/images/${fp}/export`;

async function start(over: Parameters<typeof service>[1] = {}, mode: 'prefix' | 'exact' = 'prefix'): Promise<void> {
  svc = await service(join(t.dir, 'state'), { upstreams: [{ type: 'dir', path: upstreamDir, public: true }], ...over });
  srv = await exportServer(svc, join(t.dir, `export-${Math.random().toString(36).slice(2)}.sock`), mode);
}

async function stop(): Promise<void> {
  await srv?.close();
  await svc?.close();
}

beforeEach(async () => {
  t = await tempDir();
  upstreamDir = join(t.dir, 'lxd-images');
  await mkdir(upstreamDir);
});
afterEach(async () => {
  await stop();
  await t.cleanup();
});

describe('unified image', () => {
  let img: MadeImage;
  beforeEach(async () => {
    img = await unifiedImage(2 * 1024 * 1024, 'gzip', { os: 'debian', release: 'bookworm' });
    await writeToDir(upstreamDir, img);
    await start();
  });

  it('miss fills from the upstream, then hits; headers exactly as LXD', async () => {
    const cold = await get(srv.socket, exportPath(img.fingerprint));
    expect(cold.status).toBe(200);
    expect(cold.body.equals(img.files[0]!)).toBe(true);
    const warm = await get(srv.socket, exportPath(img.fingerprint));
    for (const r of [cold, warm]) {
      expect(r.headers['content-type']).toBe('application/octet-stream');
      expect(r.headers['content-length']).toBe(String(img.files[0]!.length));
      expect(r.headers['content-disposition']).toBe(`inline;filename=${img.fingerprint}.tar.gz`);
      expect(r.headers['accept-ranges']).toBe('bytes');
      expect(r.headers['x-test']).toBe('yes');
      expect(r.headers['last-modified']).toBeTruthy();
    }
    expect(warm.headers['last-modified']).toBe(cold.headers['last-modified']);
    expect(warm.body.equals(img.files[0]!)).toBe(true);
    expect(svc.stats()).toMatchObject({ hits: 1, misses: 1, fills: 1, images: 1, bytes: img.files[0]!.length });
    const [info] = await svc.list();
    expect(info).toMatchObject({
      fingerprint: img.fingerprint,
      kind: 'unified',
      type: 'container',
      architecture: 'x86_64',
      properties: { os: 'debian', release: 'bookworm' },
    });
    // The blob sits at its content address, the cache root is tagged.
    expect((await stat(blobPath(svc.cacheDir, img.fingerprint))).size).toBe(img.files[0]!.length);
    expect((await stat(join(svc.cacheDir, 'CACHEDIR.TAG'))).isFile()).toBe(true);
    expect(await nestedClientAccepts(warm, img.fingerprint)).toMatchObject({
      ok: true,
      filenames: [`${img.fingerprint}.tar.gz`],
    });
  });

  it('prefix lookup (lxd-5.0 dialect) and exact lookup (lxd dialect)', async () => {
    const short = img.fingerprint.slice(0, 12);
    const r = await get(srv.socket, exportPath(short));
    expect(await nestedClientAccepts(r, short)).toMatchObject({ ok: true });
    expect(r.headers['content-disposition']).toBe(`inline;filename=${img.fingerprint}.tar.gz`);
    await stop();
    await start({}, 'exact');
    expect((await get(srv.socket, exportPath(short))).status).toBe(404);
    expect((await get(srv.socket, exportPath(img.fingerprint.toUpperCase()))).status).toBe(200);
  });

  it('Range, HEAD, If-Modified-Since (cold and warm)', async () => {
    const whole = img.files[0]!;
    const part = await get(srv.socket, exportPath(img.fingerprint), { headers: { range: 'bytes=100-199' } }); // cold: waits for the fill
    expect(part.status).toBe(206);
    expect(part.headers['content-range']).toBe(`bytes 100-199/${whole.length}`);
    expect(part.body.equals(whole.subarray(100, 200))).toBe(true);
    const tail = await get(srv.socket, exportPath(img.fingerprint), { headers: { range: 'bytes=-5' } });
    expect(tail.body.equals(whole.subarray(whole.length - 5))).toBe(true);
    const bad = await get(srv.socket, exportPath(img.fingerprint), { headers: { range: `bytes=${whole.length}-` } });
    expect(bad.status).toBe(416);
    expect(bad.headers['content-range']).toBe(`bytes */${whole.length}`);
    const head = await get(srv.socket, exportPath(img.fingerprint), { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers['content-length']).toBe(String(whole.length));
    expect(head.body.length).toBe(0);
    const lm = head.headers['last-modified']!;
    const ims = await get(srv.socket, exportPath(img.fingerprint), { headers: { 'if-modified-since': lm } });
    expect(ims.status).toBe(304);
    expect(ims.body.length).toBe(0);
    const older = await get(srv.socket, exportPath(img.fingerprint), {
      headers: { 'if-modified-since': new Date(Date.parse(lm) - 5000).toUTCString() },
    });
    expect(older.status).toBe(200);
    expect(older.body.equals(whole)).toBe(true);
  });

  it('HEAD on a cold image fills first', async () => {
    const head = await get(srv.socket, exportPath(img.fingerprint), { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers['content-disposition']).toBe(`inline;filename=${img.fingerprint}.tar.gz`);
  });
});

describe('split images', () => {
  it.each([
    ['container', false, 'rootfs', '.squashfs'],
    ['virtual-machine', true, 'rootfs.img', '.qcow2'],
  ] as const)('%s: multipart parts metadata then %s, cold and warm', async (type, vm, rootName, rootExt) => {
    const img = await splitImage(1024 * 1024, vm, vm ? 'zstd' : 'gzip');
    await writeToDir(upstreamDir, img);
    await start();
    for (const round of ['cold', 'warm']) {
      const r = await get(srv.socket, exportPath(img.fingerprint));
      expect(r.status, round).toBe(200);
      expect(r.headers['content-type']).toMatch(/^multipart\/form-data; boundary=[0-9a-f]{60}$/);
      expect(r.headers['transfer-encoding']).toBe('chunked');
      const ok = await nestedClientAccepts(r, img.fingerprint);
      expect(ok, round).toEqual({
        ok: true,
        names: ['metadata', rootName],
        filenames: [`meta-${img.fingerprint}${vm ? '.tar.zst' : '.tar.gz'}`, `${img.fingerprint}${rootExt}`],
      });
    }
    const [info] = await svc.list();
    expect(info).toMatchObject({ kind: 'split', type, properties: { os: 'alpine', release: '3.20' } });
    expect(info!.parts.map((p) => p.role)).toEqual(['metadata', rootName]);
  });

  it('unified VM image is typed from its rootfs.img entry', async () => {
    const img = await unifiedVmImage(64 * 1024);
    await writeToDir(upstreamDir, img);
    await start();
    expect((await get(srv.socket, exportPath(img.fingerprint))).status).toBe(200);
    expect((await svc.list())[0]).toMatchObject({ kind: 'unified', type: 'virtual-machine' });
  });
});

describe('hostile and unknown fingerprints', () => {
  beforeEach(() => start());

  it.each(['..%2F..%2Fetc%2Fpasswd', '%2E%2E', 'c67e87%00', 'not-hex', '..', `${'a'.repeat(64)}0`])(
    '%s is rejected before touching a path',
    async (fp) => {
      const r = await get(srv.socket, exportPath(fp));
      expect(r.status).toBe(400);
      expect(srv.errors.at(-1)).toMatchObject({ code: 'E_BAD_FINGERPRINT' });
    },
  );

  it('unknown fingerprint -> lookup undefined -> 404 envelope', async () => {
    const r = await get(srv.socket, exportPath('0'.repeat(64)));
    expect(r.status).toBe(404);
    expect(JSON.parse(r.body.toString())).toMatchObject({ type: 'error', error_code: 404 });
  });

  it('an ambiguous prefix is an error, never a guess', async () => {
    // Two images whose fingerprints share a first hex digit (16 tries always suffice in practice).
    const seen = new Map<string, string>();
    let pair: [string, string] | undefined;
    while (!pair) {
      const img = await unifiedImage(1024);
      await writeToDir(upstreamDir, img);
      const other = seen.get(img.fingerprint[0]!);
      if (other) pair = [other, img.fingerprint];
      seen.set(img.fingerprint[0]!, img.fingerprint);
    }
    await expect(svc.lookup(pair[0][0]!, 'prefix')).rejects.toMatchObject({ code: 'E_IMAGE_AMBIGUOUS' });
    expect((await svc.lookup(pair[0], 'prefix'))?.fingerprint).toBe(pair[0]);
    expect((await get(srv.socket, exportPath(pair[0][0]!))).status).toBe(500);
  });
});

describe('visibility', () => {
  it('a private image looks absent, cached or not', async () => {
    const img = await unifiedImage(1024);
    await writeToDir(upstreamDir, img);
    svc = await service(join(t.dir, 'state'), { upstreams: [{ type: 'dir', path: upstreamDir, public: false }] });
    srv = await exportServer(svc, join(t.dir, 'p.sock'));
    expect(await svc.lookup(img.fingerprint, 'exact')).toBeUndefined();
    expect((await get(srv.socket, exportPath(img.fingerprint))).status).toBe(404);
    const src = join(t.dir, 'private.tar.gz');
    await writeFile(src, img.files[0]!);
    await svc.import([src], { public: false });
    expect(await svc.lookup(img.fingerprint, 'exact')).toBeUndefined();
    expect(await svc.lookup(img.fingerprint.slice(0, 8), 'prefix')).toBeUndefined();
  });
});

describe('restart', () => {
  it('rebuilds the index from disk, removes leftover tmp files and unusable manifests', async () => {
    const img = await unifiedImage(256 * 1024);
    await writeToDir(upstreamDir, img);
    await start();
    expect((await get(srv.socket, exportPath(img.fingerprint))).status).toBe(200);
    const cacheDir = svc.cacheDir;
    await stop();
    // A crash mid-fill leaves a tmp file; a torn manifest must not be served.
    await writeFile(join(tmpDir(cacheDir), `${img.fingerprint}.0.abc.tmp`), 'partial');
    await writeFile(join(cacheDir, 'images-v1', `${'e'.repeat(64)}.json`), '{"version":1,');
    await start({ upstreams: [] }); // no upstream: whatever is served comes from the cache
    expect(await readdir(tmpDir(cacheDir))).toEqual([]);
    expect(await readdir(join(cacheDir, 'images-v1'))).toEqual([`${img.fingerprint}.json`]);
    const r = await get(srv.socket, exportPath(img.fingerprint));
    expect(r.body.equals(img.files[0]!)).toBe(true);
    expect(svc.stats()).toMatchObject({ hits: 1, misses: 0 });
  });
});
