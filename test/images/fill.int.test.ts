// Fills from an LXD-like REST upstream on a unix socket: single-flight, faults, aborts, eviction.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { splitImage, unifiedImage, writeToDir } from '../../fixtures/images/make.ts';
import type { ImageService } from '../../src/images/index.ts';
import { blobPath, tmpDir } from '../../src/images/store/paths.ts';
import { listBlobs } from '../../src/images/store/blobs.ts';
import {
  exportServer,
  get,
  lxdUpstreamConfig,
  nestedClientAccepts,
  service,
  tempDir,
  type ExportServer,
} from '../helpers/images.ts';
import { fakeLxd, type FakeLxd } from '../helpers/fake-upstreams.ts';

let t: { dir: string; cleanup: () => Promise<void> };
let lxd: FakeLxd;
let svc: ImageService;
let srv: ExportServer;
const exportPath = (fp: string): string => `/1.0/images/${fp}/export`;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function until(cond: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await sleep(10);
  }
}

async function start(over: Parameters<typeof service>[1] = {}): Promise<void> {
  svc = await service(join(t.dir, 'state'), { upstreams: [lxdUpstreamConfig(lxd.socket)], ...over });
  srv = await exportServer(svc, join(t.dir, 'guest.sock'));
}

/** Nothing half-written is left and nothing unverified was committed. */
async function expectClean(): Promise<void> {
  await until(async () => (await readdir(tmpDir(svc.cacheDir))).length === 0);
  expect(await listBlobs(svc.cacheDir)).toEqual([]);
  expect(await svc.list()).toEqual([]);
}

beforeEach(async () => {
  t = await tempDir();
  lxd = await fakeLxd(join(t.dir, 'lxd.sock'));
});
afterEach(async () => {
  await srv?.close();
  await svc?.close();
  await lxd.close();
  await t.cleanup();
});

describe('lxd REST upstream', () => {
  it('unified: fills once, serves from cache after; flags and properties from GET /1.0/images', async () => {
    const img = await unifiedImage(1024 * 1024);
    lxd.images.set(img.fingerprint, { img, public: false, cached: true });
    await start();
    for (let i = 0; i < 3; i++)
      expect(
        await nestedClientAccepts(await get(srv.socket, exportPath(img.fingerprint)), img.fingerprint),
      ).toMatchObject({ ok: true });
    expect(lxd.exports).toBe(1);
    expect((await svc.list())[0]).toMatchObject({
      public: false,
      cached: true,
      source: `lxd:unix:${lxd.socket}`,
      properties: { os: 'fake' },
    });
  });

  it.each([false, true])('multipart split image (vm=%s)', async (vm) => {
    const img = await splitImage(512 * 1024, vm);
    lxd.images.set(img.fingerprint, { img, public: true, cached: false, vm });
    await start();
    for (let i = 0; i < 2; i++) {
      const ok = await nestedClientAccepts(await get(srv.socket, exportPath(img.fingerprint)), img.fingerprint);
      expect(ok).toMatchObject({ ok: true, names: ['metadata', vm ? 'rootfs.img' : 'rootfs'] });
    }
    expect(lxd.exports).toBe(1);
    expect((await svc.list())[0]).toMatchObject({ kind: 'split', type: vm ? 'virtual-machine' : 'container' });
  });

  it('upstream ambiguity is reported, private upstream images look absent', async () => {
    const a = await unifiedImage(1000);
    lxd.images.set(a.fingerprint, { img: a, public: false, cached: false });
    await start();
    expect(await svc.lookup(a.fingerprint, 'exact')).toBeUndefined();
    expect((await get(srv.socket, exportPath(a.fingerprint))).status).toBe(404);
    expect(lxd.exports).toBe(0);
    lxd.images.set('f'.repeat(64), { img: a, public: true, cached: false });
    lxd.images.set('f'.repeat(63) + 'e', { img: a, public: true, cached: false });
    await expect(svc.lookup('fff', 'prefix')).rejects.toMatchObject({ code: 'E_IMAGE_AMBIGUOUS' });
  });
});

describe('single-flight', () => {
  it.each([
    ['unified', () => unifiedImage(4 * 1024 * 1024)],
    ['split', () => splitImage(2 * 1024 * 1024)],
  ] as const)(
    '64 concurrent cold requests for a %s image cause exactly one upstream read, and all get the right bytes',
    async (_kind, make) => {
      const img = await make();
      lxd.images.set(img.fingerprint, { img, public: true, cached: false });
      lxd.chunkDelay = 1;
      await start();
      const results = await Promise.all(Array.from({ length: 64 }, () => get(srv.socket, exportPath(img.fingerprint))));
      expect(lxd.exports).toBe(1);
      for (const r of results) expect(await nestedClientAccepts(r, img.fingerprint)).toMatchObject({ ok: true });
      expect(svc.stats()).toMatchObject({ misses: 1, fills: 1 });
    },
  );
});

describe('faults', () => {
  it.each(['truncate', 'corrupt'] as const)(
    '%s upstream (unified): never committed, never served complete',
    async (fault) => {
      const img = await unifiedImage(2 * 1024 * 1024);
      lxd.images.set(img.fingerprint, { img, public: true, cached: false });
      lxd.fault = fault;
      await start();
      // A connection the gateway drops before the status line is an allowed answer (status 0 here).
      const orDropped = (p: ReturnType<typeof get>) =>
        p.catch((e: NodeJS.ErrnoException) => {
          if (e.code !== 'ECONNRESET' && e.message !== 'socket hang up') throw e;
          return { status: 0, complete: false, body: Buffer.alloc(0) };
        });
      const rs = await Promise.all([
        orDropped(get(srv.socket, exportPath(img.fingerprint))),
        orDropped(get(srv.socket, exportPath(img.fingerprint))),
      ]);
      for (const r of rs) {
        // Refused before the status line (500, or the connection dropped), or a visibly truncated transfer.
        if (r.status === 0) continue;
        if (r.status === 200) {
          expect(r.complete).toBe(false);
          expect(r.body.length).toBeLessThan(img.files[0]!.length);
        } else expect(r.status).toBe(500);
      }
      await expectClean();
      // Usually one shared failed fill; on a loaded machine the second request may arrive after it failed.
      expect(svc.stats().fillFailures).toBe(lxd.exports);
      // The next request tries again, and with a healthy upstream it succeeds.
      const before = lxd.exports;
      lxd.fault = 'none';
      expect(
        await nestedClientAccepts(await get(srv.socket, exportPath(img.fingerprint)), img.fingerprint),
      ).toMatchObject({ ok: true });
      expect(lxd.exports).toBe(before + 1);
    },
  );

  it.each(['truncate', 'corrupt'] as const)(
    '%s upstream (multipart split): never committed, never served complete',
    async (fault) => {
      const img = await splitImage(1024 * 1024);
      lxd.images.set(img.fingerprint, { img, public: true, cached: false });
      lxd.fault = fault;
      await start();
      const r = await get(srv.socket, exportPath(img.fingerprint));
      if (r.status === 200) {
        expect(r.complete).toBe(false);
        expect(await nestedClientAccepts(r, img.fingerprint)).toMatchObject({ ok: false });
      }
      await expectClean();
    },
  );

  it('client abort mid-fill stops the upstream read and removes tmp files', async () => {
    const img = await unifiedImage(4 * 1024 * 1024);
    lxd.images.set(img.fingerprint, { img, public: true, cached: false });
    lxd.chunkDelay = 20; // ~1.3 s for the whole image
    await start();
    const ac = new AbortController();
    let received = 0;
    const p = get(srv.socket, exportPath(img.fingerprint), { signal: ac.signal, onData: (n) => (received += n) }).catch(
      (e: Error) => e,
    );
    await until(() => received > 256 * 1024);
    expect((await readdir(tmpDir(svc.cacheDir))).length).toBe(1);
    ac.abort();
    await p;
    await until(() => lxd.abortedExports === 1);
    await expectClean();
  });
});

describe('eviction', () => {
  it('a stream keeps reading an evicted (unlinked) blob and completes intact', async () => {
    const a = await unifiedImage(3 * 1024 * 1024);
    const b = await unifiedImage(3 * 1024 * 1024);
    for (const img of [a, b]) lxd.images.set(img.fingerprint, { img, public: true, cached: false });
    await start({ max_size: 5 * 1024 * 1024 });
    await get(srv.socket, exportPath(a.fingerprint)); // a cached
    const blobA = blobPath(svc.cacheDir, a.fingerprint);
    // A slow reader of a: pause after the first chunk so the server blocks mid-file.
    const http = await import('node:http');
    const slow = new Promise<Buffer>((resolve, reject) => {
      const req = http.request(
        { socketPath: srv.socket, path: exportPath(a.fingerprint), headers: { connection: 'close' } },
        (res) => {
          const chunks: Buffer[] = [];
          res.once('data', async (c: Buffer) => {
            chunks.push(c);
            res.pause();
            // Fill b: the bound forces a out while its stream is open.
            await get(srv.socket, exportPath(b.fingerprint));
            await until(async () => svc.stats().evictions === 1 && !(await stat(blobA).catch(() => undefined)));
            res.on('data', (d: Buffer) => chunks.push(d));
            res.on('end', () => resolve(Buffer.concat(chunks)));
            res.resume();
          });
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end();
    });
    const body = await slow;
    expect(body.equals(a.files[0]!)).toBe(true);
    expect((await svc.list()).map((i) => i.fingerprint)).toEqual([b.fingerprint]);
  });

  it('pinned images are never evicted; the bound holds for the rest', async () => {
    const imgs = await Promise.all([
      unifiedImage(1024 * 1024),
      unifiedImage(1024 * 1024),
      unifiedImage(1024 * 1024),
      unifiedImage(1024 * 1024),
    ]);
    for (const img of imgs) lxd.images.set(img.fingerprint, { img, public: true, cached: false });
    await start({ max_size: Math.floor(2.5 * 1024 * 1024), pinned: [imgs[0]!.fingerprint] });
    for (const img of imgs) expect((await get(srv.socket, exportPath(img.fingerprint))).status).toBe(200);
    // Eviction runs after the commit that overflowed the bound: wait for it to settle, then check.
    await until(async () => (await svc.list()).length === 2 && (await listBlobs(svc.cacheDir)).length === 2);
    const left = (await svc.list()).map((i) => i.fingerprint);
    expect(left).toContain(imgs[0]!.fingerprint);
    expect(left).toContain(imgs[3]!.fingerprint);
    expect(left).toHaveLength(2);
    expect(svc.stats().bytes).toBeLessThanOrEqual(2.5 * 1024 * 1024);
    // Evicted blobs are unlinked in the background: wait for the disk to match the index.
    await vi.waitFor(async () => expect((await listBlobs(svc.cacheDir)).sort()).toEqual(left.sort()), {
      timeout: 10_000,
    });
  });
});

describe('upstream order', () => {
  it('falls through to the next upstream that has the image', async () => {
    const img = await unifiedImage(100_000);
    const dir = join(t.dir, 'dir-upstream');
    await writeToDir(dir, img);
    svc = await service(join(t.dir, 'state'), {
      upstreams: [
        { type: 'dir', path: join(t.dir, 'empty'), public: true },
        lxdUpstreamConfig(join(t.dir, 'nobody-listens.sock')),
        { type: 'dir', path: dir, public: true },
      ],
    });
    srv = await exportServer(svc, join(t.dir, 'guest.sock'));
    expect(
      await nestedClientAccepts(await get(srv.socket, exportPath(img.fingerprint)), img.fingerprint),
    ).toMatchObject({ ok: true });
    expect(svc.stats().upstreamErrors).toBeGreaterThanOrEqual(1);
  });
});
