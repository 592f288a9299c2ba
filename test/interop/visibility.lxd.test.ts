// Issue 10 point 7 against the real LXD 5.0.2: an image cached by guestgate follows the server's
// public flag and existence at once (its image lifecycle events keep guestgate's answers current),
// as LXD's own devlxd does; the cached bytes stay.
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { ImageService } from '../../src/images/index.ts';
import { exportServer, get, lxdUpstreamConfig, service, type ExportServer } from '../helpers/images.ts';
import { lxc } from './lxd-harness.ts';
import { LXD_SOCKET, requireLxd } from './lxd-gateway.ts';

const ALIAS = 'ggw-visibility';
let work = '';
let fp = '';
let svc: ImageService | undefined;
let guest: ExportServer | undefined;

beforeAll(async () => {
  await requireLxd();
  work = mkdtempSync(join(tmpdir(), 'ggw-vis-'));
  mkdirSync(join(work, 'rootfs'));
  writeFileSync(join(work, 'rootfs', 'blob'), randomBytes(512 * 1024));
  writeFileSync(join(work, 'metadata.yaml'), `architecture: x86_64\ncreation_date: ${Math.floor(Date.now() / 1000)}\n`);
  const tarball = join(work, 'image.tar.gz');
  execFileSync('tar', ['-czf', tarball, '-C', work, 'metadata.yaml', 'rootfs']);
  fp = createHash('sha256').update(readFileSync(tarball)).digest('hex');
  await lxc(['image', 'delete', ALIAS]).catch(() => {});
  await lxc(['image', 'import', tarball, '--alias', ALIAS]); // private
  svc = await service(join(work, 'state'), { upstreams: [lxdUpstreamConfig(LXD_SOCKET)] });
  guest = await exportServer(svc, join(work, 'guest.sock'));
}, 120_000);

afterAll(async () => {
  await guest?.close();
  await svc?.close();
  if (fp) await lxc(['image', 'delete', fp]).catch(() => {});
  if (work) rmSync(work, { recursive: true, force: true });
});

const setPublic = (v: boolean) =>
  lxc(['query', '-X', 'PATCH', '-d', JSON.stringify({ public: v }), `/1.0/images/${fp}`]);
const pull = () => get(guest!.socket, `/1.0/images/${fp}/export`);

it('made public: served at once; made private or deleted: refused at once, bytes kept', async () => {
  expect((await pull()).status, 'private in LXD').toBe(404);
  await setPublic(true);
  const got = await pull();
  expect(got.status, 'made public').toBe(200);
  expect(createHash('sha256').update(got.body).digest('hex')).toBe(fp);
  // Several requests in a row while the answer is reused (events connected), then the change.
  for (let i = 0; i < 3; i++) expect((await pull()).status).toBe(200);
  await setPublic(false);
  expect((await pull()).status, 'made private').toBe(404);
  await setPublic(true);
  expect((await pull()).status, 'public again').toBe(200);
  await lxc(['image', 'delete', fp]);
  expect((await pull()).status, 'deleted in LXD').toBe(404);
  expect(
    (await svc!.list()).map((i) => i.fingerprint),
    'cached bytes stay',
  ).toEqual([fp]);
}, 120_000);
