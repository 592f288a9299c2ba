// The simplestreams upstream against a tree this test builds and serves on 127.0.0.1.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { splitImage, unifiedImage } from '../../fixtures/images/make.ts';
import type { ImageService } from '../../src/images/index.ts';
import { listBlobs } from '../../src/images/store/blobs.ts';
import {
  exportServer,
  get,
  nestedClientAccepts,
  service,
  simplestreamsConfig,
  tempDir,
  type ExportServer,
} from '../helpers/images.ts';
import { fakeSimplestreams, type FakeStreams } from '../helpers/fake-upstreams.ts';

let t: { dir: string; cleanup: () => Promise<void> };
let ss: FakeStreams;
let svc: ImageService;
let srv: ExportServer;
const exportPath = (fp: string): string => `/1.0/images/${fp}/export`;

beforeEach(async () => {
  t = await tempDir();
});
afterEach(async () => {
  await srv?.close();
  await svc?.close();
  await ss?.close();
  await t.cleanup();
});

describe('simplestreams upstream', () => {
  it('serves split (container, VM) and unified images by combined fingerprints; item paths relative to the server URL', async () => {
    const ct = await splitImage(512 * 1024);
    const vm = await splitImage(512 * 1024, true);
    const uni = await unifiedImage(256 * 1024);
    ss = await fakeSimplestreams(join(t.dir, 'tree'), [
      { img: ct, name: 'ct' },
      { img: vm, name: 'vm', vm: true },
      { img: uni, name: 'uni' },
    ]);
    svc = await service(join(t.dir, 'state'), { upstreams: [simplestreamsConfig(ss.url)] });
    srv = await exportServer(svc, join(t.dir, 'guest.sock'));
    for (const [img, names] of [
      [ct, ['metadata', 'rootfs']],
      [vm, ['metadata', 'rootfs.img']],
      [uni, []],
    ] as const) {
      const r = await get(srv.socket, exportPath(img.fingerprint));
      expect(await nestedClientAccepts(r, img.fingerprint)).toMatchObject({ ok: true, names });
    }
    // The catalog was fetched once for all lookups; items came from under the mirror prefix.
    expect(ss.requests.filter((p) => p.endsWith('index.json'))).toHaveLength(1);
    expect(ss.requests.some((p) => p.startsWith('/mirror/images/ct/'))).toBe(true);
    const types = Object.fromEntries((await svc.list()).map((i) => [i.fingerprint, i.type]));
    expect(types).toEqual({
      [ct.fingerprint]: 'container',
      [vm.fingerprint]: 'virtual-machine',
      [uni.fingerprint]: 'container',
    });
    expect((await get(srv.socket, exportPath('0'.repeat(64)))).status).toBe(404);
  });

  it('an item whose bytes changed on the server is never committed', async () => {
    const img = await splitImage(256 * 1024);
    ss = await fakeSimplestreams(join(t.dir, 'tree'), [{ img, name: 'ct' }]);
    const rootfs = Buffer.from(img.files[1]!);
    rootfs[1000]! ^= 1;
    await writeFile(join(ss.root, 'images/ct/20260101_00:00/root.squashfs'), rootfs);
    svc = await service(join(t.dir, 'state'), { upstreams: [simplestreamsConfig(ss.url)] });
    srv = await exportServer(svc, join(t.dir, 'guest.sock'));
    const r = await get(srv.socket, exportPath(img.fingerprint));
    expect(await nestedClientAccepts(r, img.fingerprint)).toMatchObject({ ok: false });
    expect(r.complete).toBe(false);
    expect(await svc.list()).toEqual([]);
    expect(await listBlobs(svc.cacheDir)).toEqual([]);
  });
});
