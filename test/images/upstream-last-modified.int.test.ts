// Last-Modified of an image filled from an LXD/Incus upstream is the one the server itself gives its guests:
// its export's Last-Modified (Go's http.ServeContent: the image file's mtime), not the image record's
// uploaded_at, which can be a second later (seen in CI: the broad Incus probe's public image, 13:23:01 from
// guestgate against 13:23:00 from Incus). Cold (streamed while filling) and warm (from the manifest) alike.
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { unifiedImage } from '../../fixtures/images/make.ts';
import type { ImageService } from '../../src/images/index.ts';
import { FILE_MODIFIED, fakeLxd, type FakeLxd } from '../helpers/fake-upstreams.ts';
import { exportServer, get, lxdUpstreamConfig, service, tempDir, type ExportServer } from '../helpers/images.ts';

let t: { dir: string; cleanup: () => Promise<void> };
let up: FakeLxd;
let svc: ImageService;
let guest: ExportServer;

beforeEach(async () => {
  t = await tempDir();
  up = await fakeLxd(join(t.dir, 'lxd.sock'));
  svc = await service(join(t.dir, 'state'), { upstreams: [lxdUpstreamConfig(up.socket)] });
  guest = await exportServer(svc, join(t.dir, 'guest.sock'));
});
afterEach(async () => {
  await guest.close();
  await svc.close();
  await up.close();
  await t.cleanup();
});

it("a unified image: the upstream export's Last-Modified, cold and warm", async () => {
  const img = await unifiedImage(256 * 1024);
  up.images.set(img.fingerprint, { img, public: true, cached: false });
  const pull = () => get(guest.socket, `/1.0/images/${img.fingerprint}/export`);
  const cold = await pull();
  const warm = await pull();
  expect([cold.status, warm.status]).toEqual([200, 200]);
  expect(up.exports).toBe(1);
  expect(cold.headers['last-modified']).toBe(FILE_MODIFIED.toUTCString());
  expect(warm.headers['last-modified']).toBe(FILE_MODIFIED.toUTCString());
});
