// Issue 11: /healthz says "degraded" while an image upstream cannot be reached, naming it, and "ok"
// again once a query to it succeeds. The image service keeps each upstream's last query outcome.
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { unifiedImage } from '../../fixtures/images/make.ts';
import type { ImageService } from '../../src/images/index.ts';
import { fakeLxd, type FakeLxd } from '../helpers/fake-upstreams.ts';
import { startGateway } from '../helpers/gateway.ts';
import { lxdUpstreamConfig, service, tempDir } from '../helpers/images.ts';
import { http } from '../helpers/service.ts';

let t: { dir: string; cleanup: () => Promise<void> } | undefined;
let svc: ImageService | undefined;
let up: FakeLxd | undefined;
afterEach(async () => {
  await svc?.close();
  await up?.close();
  await t?.cleanup();
});

it('an unreachable upstream is a health reason (name, address, error) until a query to it succeeds', async () => {
  t = await tempDir();
  const sock = join(t.dir, 'lxd.sock');
  svc = await service(join(t.dir, 'state'), { upstreams: [lxdUpstreamConfig(sock)] });
  expect(svc.health()).toEqual([]);
  const img = await unifiedImage(64 * 1024);
  expect(await svc.lookup(img.fingerprint, 'exact')).toBeUndefined(); // nothing listens yet
  const reasons = svc.health();
  expect(reasons).toHaveLength(1);
  expect(reasons[0]).toMatch(/^image upstream "[^"]+" unreachable: .*ENOENT/);
  up = await fakeLxd(sock);
  up.images.set(img.fingerprint, { img, public: true, cached: false });
  expect(await svc.lookup(img.fingerprint, 'exact')).toMatchObject({ fingerprint: img.fingerprint });
  expect(svc.health()).toEqual([]);
});

it('/healthz lists it with the other reasons, and is ok again after a successful query', async () => {
  t = await tempDir();
  const sock = join(t.dir, 'lxd.sock');
  const gw = await startGateway({
    images: { cache_dir: join(t.dir, 'cache'), upstreams: [{ type: 'lxd', socket: sock }] },
  });
  try {
    const health = async () =>
      (await http(gw.service.admin!.path, 'GET', '/healthz')).json() as { status: string; reasons?: string[] };
    expect(await health()).toMatchObject({ status: 'ok' });
    const img = await unifiedImage(64 * 1024);
    await gw.service.images.lookup(img.fingerprint, 'exact');
    expect(await health()).toEqual({
      status: 'degraded',
      instances: 0,
      reasons: [expect.stringMatching(/^image upstream "[^"]+" unreachable: /)],
    });
    up = await fakeLxd(sock);
    await gw.service.images.lookup(img.fingerprint, 'exact');
    expect(await health()).toMatchObject({ status: 'ok' });
  } finally {
    await gw.close();
  }
});
