// Issue 10 point 7: whether a guest may have an image is decided per request from the upstream's
// current state. An image made public is served at once; made private, or deleted, it is refused at
// once, even though its bytes stay in the cache. (This fake LXD has no event stream, so every
// request asks it; the real LXD's events are exercised in test/interop/visibility.lxd.test.ts.)
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { unifiedImage } from '../../fixtures/images/make.ts';
import type { ImageService } from '../../src/images/index.ts';
import { fakeLxd, type FakeLxd } from '../helpers/fake-upstreams.ts';
import { exportServer, get, lxdUpstreamConfig, service, tempDir, type ExportServer } from '../helpers/images.ts';

let t: { dir: string; cleanup: () => Promise<void> };
let up: FakeLxd;
let svc: ImageService;
let guest: ExportServer;
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

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

it('follows the server: public -> private -> public -> deleted, each seen by the very next request', async () => {
  const img = await unifiedImage(256 * 1024);
  const entry = { img, public: false, cached: false };
  up.images.set(img.fingerprint, entry);
  const pull = () => get(guest.socket, `/1.0/images/${img.fingerprint}/export`);
  expect((await pull()).status, 'private image').toBe(404);
  entry.public = true;
  const first = await pull();
  expect(first.status, 'made public').toBe(200);
  expect(sha(first.body)).toBe(img.fingerprint);
  expect((await svc.list()).map((i) => i.fingerprint)).toEqual([img.fingerprint]);
  entry.public = false;
  expect((await pull()).status, 'made private: refused although cached').toBe(404);
  entry.public = true;
  expect((await pull()).status, 'public again').toBe(200);
  up.images.delete(img.fingerprint);
  expect((await pull()).status, 'deleted on the server: refused although cached').toBe(404);
  expect(
    (await svc.list()).map((i) => i.fingerprint),
    'the bytes stay',
  ).toEqual([img.fingerprint]);
  expect(up.exports, 'served from the cache, not fetched again').toBe(1);
});
