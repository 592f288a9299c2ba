// Images: a public image LXD holds, exported through guestgate (images.upstreams: lxd on LXD's socket)
// and through LXD's own devlxd, from inside twin containers with security.devlxd.images=true: identical
// bytes, and the headers a nested LXD client checks (Content-Disposition filename; the sha256 of the
// bytes starts with the fingerprint) plus type and length identical.
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lxc, type Container } from './lxd-harness.ts';
import { LXD_SOCKET, launchTwins, requireLxd, startLxdGateway, type LxdGateway } from './lxd-gateway.ts';
import { parseDump } from './http-dump.ts';
import { isServerRace, pastServerRace } from './server-race.ts';

const ALIAS = 'gg-img-public';
const CONFIG = { 'security.devlxd.images': 'true' };

let gw: LxdGateway | undefined;
let viaGuestgate: Container | undefined;
let viaLxd: Container | undefined;
let work = '';
let fp = '';
let size = 0;

/** A small unified image (metadata.yaml + rootfs with 8 MiB of incompressible data), imported public. */
async function importImage(): Promise<void> {
  work = mkdtempSync(join(tmpdir(), 'gg-img-'));
  mkdirSync(join(work, 'rootfs'));
  writeFileSync(join(work, 'rootfs', 'blob'), randomBytes(8 * 1024 * 1024));
  writeFileSync(
    join(work, 'metadata.yaml'),
    `architecture: x86_64\ncreation_date: ${Math.floor(Date.now() / 1000)}\nproperties:\n  description: guestgate interop image\n`,
  );
  const tarball = join(work, 'image.tar.gz');
  execFileSync('tar', ['-czf', tarball, '-C', work, 'metadata.yaml', 'rootfs']);
  const bytes = readFileSync(tarball);
  fp = createHash('sha256').update(bytes).digest('hex');
  size = bytes.length;
  await lxc(['image', 'delete', ALIAS]).catch(() => {});
  await lxc(['image', 'import', tarball, '--alias', ALIAS, '--public']);
}

beforeAll(async () => {
  await requireLxd();
  await importImage();
  gw = await startLxdGateway({ images: { upstreams: [{ type: 'lxd', socket: LXD_SOCKET }] } });
  [viaGuestgate, viaLxd] = await launchTwins(gw, 'gg-img', CONFIG);
}, 120_000);

afterAll(async () => {
  await Promise.all([viaGuestgate?.delete(), viaLxd?.delete()]);
  await gw?.close();
  if (fp) await lxc(['image', 'delete', fp]).catch(() => {});
  if (work) rmSync(work, { recursive: true, force: true });
});

/** sha256, size and headers of one export from inside `c` (a short body, an error's, follows the headers). */
async function fetchExport(c: Container, what: string) {
  const r = await c.exec([
    'sh',
    '-c',
    `curl -s -D /tmp/h -o /tmp/img --unix-socket /dev/lxd/sock http://lxd/1.0/images/${what}/export && sha256sum /tmp/img | cut -d" " -f1 && stat -c %s /tmp/img && cat /tmp/h && { [ "$(stat -c %s /tmp/img)" -ge 4096 ] || cat /tmp/img; } && rm -f /tmp/img`,
  ]);
  expect(r.code, r.stderr).toBe(0);
  const [sha = '', len = '', ...head] = r.stdout.split('\n');
  const d = parseDump(head.join('\n'))!;
  return { sha, len: Number(len), status: d.status, headers: d.headers, body: d.body };
}

async function download(c: Container, what = fp) {
  if (c !== viaLxd) return fetchExport(c, what);
  // LXD's own race (server-race.ts) is not its answer: asked again.
  return (
    await pastServerRace(
      () => fetchExport(c, what),
      (d) => isServerRace(d, false),
    )
  ).result;
}

/** What LXD's client (GetPrivateImageFile) requires of a unified export. */
function nestedClientAccepts(h: Readonly<Record<string, string>>, sha: string, wanted: string): boolean {
  const m = /(?:^|;)\s*filename=("?)([^";]+)\1/.exec(h['content-disposition'] ?? '');
  return h['content-type'] === 'application/octet-stream' && !!m && sha.startsWith(wanted);
}

describe('image export: guestgate vs LXD 5.0.2 devlxd', () => {
  it('same bytes and the headers the nested LXD client checks (cold, then warm from the cache)', async () => {
    const lxdSide = await download(viaLxd!);
    const cold = await download(viaGuestgate!);
    const warm = await download(viaGuestgate!);
    expect(lxdSide.status).toBe('HTTP/1.1 200 OK');
    expect(lxdSide.sha).toBe(fp);
    expect(lxdSide.len).toBe(size);
    for (const g of [cold, warm]) {
      expect(g.status).toBe('HTTP/1.1 200 OK');
      expect(g.sha).toBe(lxdSide.sha);
      expect(g.len).toBe(lxdSide.len);
      for (const h of ['content-type', 'content-length', 'content-disposition', 'accept-ranges'])
        expect([h, g.headers[h]]).toEqual([h, lxdSide.headers[h]]);
      expect(nestedClientAccepts(g.headers, g.sha, fp)).toBe(true);
    }
    expect(lxdSide.headers['content-disposition']).toBe(`inline;filename=${fp}.tar.gz`);
    expect(nestedClientAccepts(lxdSide.headers, lxdSide.sha, fp)).toBe(true);
  }, 60_000);

  it('by unique prefix too (LXD 5.0.2 matches prefixes)', async () => {
    const [g, l] = [await download(viaGuestgate!, fp.slice(0, 12)), await download(viaLxd!, fp.slice(0, 12))];
    expect(g.sha).toBe(fp);
    expect(l.sha).toBe(fp);
    expect(g.headers['content-disposition']).toBe(l.headers['content-disposition']);
  }, 60_000);

  it('images flag off: both 403 not authorized', async () => {
    await Promise.all([
      lxc(['config', 'set', viaGuestgate!.name, 'security.devlxd.images=false']),
      lxc(['config', 'set', viaLxd!.name, 'security.devlxd.images=false']),
    ]);
    await gw!.until(
      () => gw!.service.inventory.get('gg-img-gg')?.config['security.devlxd.images'] === 'false',
      10_000,
      'flag off seen',
    );
    const argv = ['curl', '-s', '-i', '--unix-socket', '/dev/lxd/sock', `http://lxd/1.0/images/${fp}/export`];
    const lxdSide = pastServerRace(
      () => viaLxd!.exec(argv),
      (r) => isServerRace(parseDump(r.stdout), false),
    ).then((r) => r.result);
    const [g, l] = (await Promise.all([viaGuestgate!.exec(argv), lxdSide])).map((r) => parseDump(r.stdout)!);
    expect([g!.status, g!.headers['content-type'], g!.body]).toEqual([
      'HTTP/1.1 403 Forbidden',
      'text/plain; charset=utf-8',
      'not authorized\n',
    ]);
    expect([l!.status, l!.headers['content-type'], l!.body]).toEqual([g!.status, g!.headers['content-type'], g!.body]);
  }, 60_000);
});
