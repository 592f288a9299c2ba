// An upstream that stalls mid-body: the fill fails at images.upstream_timeouts.idle, its guests get a
// cut transfer (never the last byte), the tmp files go, and the next request starts a fresh fill.
import { afterEach, beforeEach, expect, it } from 'vitest';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { unifiedImage } from '../../fixtures/images/make.ts';
import type { ImageService } from '../../src/images/index.ts';
import { tmpDir } from '../../src/images/store/paths.ts';
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
import { waitFor } from '../helpers/wait.ts';

let t: { dir: string; cleanup: () => Promise<void> };
let lxd: FakeLxd;
let svc: ImageService;
let srv: ExportServer;

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

it('a stalled fill fails, its two guests get cut transfers, nothing is left, and the next request refills', async () => {
  const img = await unifiedImage(2 * 1024 * 1024);
  lxd.images.set(img.fingerprint, { img, public: true, cached: false });
  lxd.fault = 'stall';
  svc = await service(join(t.dir, 'state'), {
    upstreams: [lxdUpstreamConfig(lxd.socket)],
    upstream_timeouts: { connect: 5_000, first_byte: 5_000, idle: 1_000 },
  });
  srv = await exportServer(svc, join(t.dir, 'guest.sock'));
  const path = `/1.0/images/${img.fingerprint}/export`;
  // The second guest joins the same (stalled) fill.
  const first = get(srv.socket, path).catch(() => ({ status: 0, complete: false, body: Buffer.alloc(0) }));
  await waitFor('the upstream export to start', () => lxd.exports === 1);
  const second = get(srv.socket, path).catch(() => ({ status: 0, complete: false, body: Buffer.alloc(0) }));
  const rs = await Promise.all([first, second]);
  for (const r of rs) {
    expect(r.complete).toBe(false);
    expect(r.body.length).toBeLessThan(img.files[0]!.length);
  }
  expect(svc.stats().fillFailures).toBeGreaterThanOrEqual(1);
  await waitFor('tmp files removed', async () => (await readdir(tmpDir(svc.cacheDir))).length === 0);
  expect(await listBlobs(svc.cacheDir)).toEqual([]);
  // A fresh fill, which succeeds against a healthy upstream.
  const before = lxd.exports;
  lxd.fault = 'none';
  expect(await nestedClientAccepts(await get(srv.socket, path), img.fingerprint)).toMatchObject({ ok: true });
  expect(lxd.exports).toBe(before + 1);
});
