// Last-Modified of an image filled from an LXD/Incus upstream is the one the server itself gives its guests:
// its export's Last-Modified (Go's http.ServeContent: the image file's mtime), not the image record's
// uploaded_at, which can be a second later (seen in CI: the broad Incus probe's public image, 13:23:01 from
// guestgate against 13:23:00 from Incus). Cold (streamed while filling) and warm (from the manifest) alike.
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { unifiedImage } from '../../fixtures/images/make.ts';
import { FILE_MODIFIED } from '../helpers/fake-upstreams.ts';
import { exportServer, get, lxdUpstreamConfig, service } from '../helpers/images.ts';
import { fakeLxdWorld } from '../helpers/lxd-world.ts';

const w = fakeLxdWorld();

it("a unified image: the upstream export's Last-Modified, cold and warm", async () => {
  w.svc = await service(join(w.dir, 'state'), { upstreams: [lxdUpstreamConfig(w.lxd.socket)] });
  w.srv = await exportServer(w.svc, join(w.dir, 'guest.sock'));
  const img = await unifiedImage(256 * 1024);
  w.lxd.images.set(img.fingerprint, { img, public: true, cached: false });
  const pull = () => get(w.srv!.socket, `/1.0/images/${img.fingerprint}/export`);
  const cold = await pull();
  const warm = await pull();
  expect([cold.status, warm.status]).toEqual([200, 200]);
  expect(w.lxd.exports).toBe(1);
  expect(cold.headers['last-modified']).toBe(FILE_MODIFIED.toUTCString());
  expect(warm.headers['last-modified']).toBe(FILE_MODIFIED.toUTCString());
});
