// LXD's own Go client (Debian's lxd-client 5.0.2, the `lxc` CLI) inside a guestgate-fronted container:
// `lxc image export host:<image>` tries /dev/lxd/sock first (root, no secret) and silently falls back to
// the remote on any error (shared spec guest-clients.md §3). The remote `host` is LXD itself, reached
// through a recording proxy socket mounted into the container: the proxy's log proves whether the bytes
// came from LXD; guestgate's image stats prove whether they came from guestgate (cold fill or warm hit).
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ImageService } from '../../src/images/index.ts';
import { type Container, launchContainer, LXD_CLI, lxc } from './lxd-harness.ts';
import { LXD_SOCKET, requireLxd, startLxdGateway, type LxdGateway } from './lxd-gateway.ts';
import { DEBS_DIR } from './cloud-init-25.ts';
import { type RecordingProxy, startRecordingProxy } from './recording-proxy.ts';
import { importTinyImages, type TinyImages } from './probe/tiny-images.ts';

const NAME = 'ggx-gc';
const SPLIT_ALIAS = 'ggx-gc-split';
let gw: LxdGateway | undefined;
let c: Container | undefined;
let proxy: RecordingProxy | undefined;
let images: TinyImages | undefined;
let splitFp = '';

/** A split image (metadata tarball + squashfs rootfs), imported public; its fingerprint is sha256(meta || rootfs). */
async function importSplit(): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'ggx-split-'));
  try {
    mkdirSync(join(dir, 'm'));
    mkdirSync(join(dir, 'r', 'etc'), { recursive: true });
    writeFileSync(
      join(dir, 'm', 'metadata.yaml'),
      'architecture: x86_64\ncreation_date: 1700000000\nproperties:\n  os: none\n',
    );
    writeFileSync(join(dir, 'r', 'etc', 'ggx-split'), 'split ✓\n'.repeat(200));
    execFileSync('tar', ['-C', join(dir, 'm'), '-czf', join(dir, 'meta.tar.gz'), 'metadata.yaml']);
    execFileSync('mksquashfs', [join(dir, 'r'), join(dir, 'rootfs.squashfs'), '-noappend', '-quiet', '-all-root']);
    const fp = createHash('sha256')
      .update(readFileSync(join(dir, 'meta.tar.gz')))
      .update(readFileSync(join(dir, 'rootfs.squashfs')))
      .digest('hex');
    await lxc(['image', 'delete', SPLIT_ALIAS]).catch(() => {});
    await lxc(['image', 'delete', fp]).catch(() => {});
    await lxc([
      'image',
      'import',
      join(dir, 'meta.tar.gz'),
      join(dir, 'rootfs.squashfs'),
      '--alias',
      SPLIT_ALIAS,
      '--public',
    ]);
    return fp;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

beforeAll(async () => {
  await requireLxd();
  images = await importTinyImages(LXD_CLI, 'ggx-gc-img');
  splitFp = await importSplit();
  proxy = await startRecordingProxy(LXD_SOCKET);
  gw = await startLxdGateway({ images: { upstreams: [{ type: 'lxd', socket: LXD_SOCKET }] } });
  c = await launchContainer(NAME, {
    replace: true,
    guestSocketDir: gw.socketDir,
    config: { 'security.devlxd.images': 'true' },
  });
  await c.addDevice('hostlxd', { type: 'disk', source: proxy.dir, path: '/mnt/hostlxd' });
  await gw.until(() => gw!.service.inventory.get(NAME)?.identity.initPid !== undefined, 30_000, `${NAME} known`);
  const deb = readFileSync(join(DEBS_DIR, 'lxd-client_5.0.2-5+deb12u6_amd64.deb'));
  await c.exec(['sh', '-c', 'cat > /root/lxd-client.deb'], { input: deb });
  const inst = await c.exec([
    'sh',
    '-c',
    'dpkg -i /root/lxd-client.deb && mkdir -p /root/.config/lxc && lxc remote add host unix:///mnt/hostlxd/sock',
  ]);
  if (inst.code !== 0) throw new Error(`lxd-client in ${NAME}: ${inst.stdout}${inst.stderr}`);
}, 300_000);

afterAll(async () => {
  await c?.delete();
  await gw?.close();
  await proxy?.close();
  await images?.remove();
  if (splitFp) await lxc(['image', 'delete', splitFp]).catch(() => {});
});

let n = 0;
/** `lxc image export host:<ref>` into a fresh folder; returns the sha256 of meta||rootfs (or the one file). */
async function exportVia(ref: string): Promise<{ sha: string; files: string[]; exports: string[] }> {
  const out = `/root/out${++n}`;
  const before = proxy!.requests.length;
  const r = await c!.exec(['sh', '-c', `mkdir -p ${out} && lxc image export host:${ref} ${out}/`], {
    timeoutMs: 120_000,
  });
  expect(r.code, `lxc image export host:${ref}: ${r.stderr}`).toBe(0);
  const files = (await c!.exec(['ls', out])).stdout.trim().split('\n').sort();
  const meta = files.filter((f) => f.startsWith('meta-'));
  const rest = files.filter((f) => !f.startsWith('meta-'));
  const sum = await c!.exec(['sh', '-c', `cd ${out} && cat ${[...meta, ...rest].join(' ')} | sha256sum`]);
  const exports = proxy!.requests.slice(before).filter((l) => l.includes('/export'));
  return { sha: sum.stdout.split(' ')[0]!, files, exports };
}

/** guestgate's own image cache counters (the same figures as its metrics). */
const stats = () => (gw!.service.deps.images as unknown as ImageService).stats();

describe('lxc image export (LXD Go client 5.0.2) from a guestgate-fronted container', () => {
  it('unified: cold by full fingerprint, then warm by prefix and by alias, all from guestgate', async () => {
    const s0 = stats();
    const cold = await exportVia(images!.pub);
    expect(cold.sha).toBe(images!.pub);
    expect(cold.exports).toEqual([]); // LXD's socket saw no export
    expect([stats().misses - s0.misses, stats().fills - s0.fills]).toEqual([1, 1]);
    const warm = await exportVia(images!.pub.slice(0, 12));
    const byAlias = await exportVia('ggx-gc-img-pub');
    for (const w of [warm, byAlias]) {
      expect(w.sha).toBe(images!.pub);
      expect(w.exports).toEqual([]);
    }
    expect(stats().hits - s0.hits).toBe(2);
    expect(stats().fills - s0.fills).toBe(1);
  }, 180_000);

  it('split (metadata + squashfs): cold then warm from guestgate, two files whose sha256 is the fingerprint', async () => {
    const s0 = stats();
    for (const ref of [splitFp, SPLIT_ALIAS]) {
      const r = await exportVia(ref);
      expect(r.files).toHaveLength(2);
      expect(r.sha).toBe(splitFp);
      expect(r.exports).toEqual([]);
    }
    expect([stats().fills - s0.fills, stats().hits - s0.hits]).toEqual([1, 1]);
  }, 180_000);

  it('gate off: guestgate answers 403, the client falls back to LXD (its socket saw the export)', async () => {
    await c!.setConfig('security.devlxd.images', 'false');
    await gw!.until(
      () => gw!.service.inventory.get(NAME)?.config['security.devlxd.images'] === 'false',
      30_000,
      'gate off',
    );
    const s0 = stats();
    const r = await exportVia(images!.pub);
    expect(r.sha).toBe(images!.pub);
    expect(r.exports).toEqual([`GET /1.0/images/${images!.pub}/export`]);
    expect(stats().hits + stats().misses).toBe(s0.hits + s0.misses); // guestgate served nothing
    await c!.setConfig('security.devlxd.images', 'true');
    await gw!.until(
      () => gw!.service.inventory.get(NAME)?.config['security.devlxd.images'] === 'true',
      30_000,
      'gate on',
    );
  }, 180_000);

  it('private image: guestgate answers 404, the client falls back to LXD', async () => {
    const s0 = stats();
    const r = await exportVia(images!.priv);
    expect(r.sha).toBe(images!.priv);
    expect(r.exports).toEqual([`GET /1.0/images/${images!.priv}/export`]);
    expect(stats().fills).toBe(s0.fills);
  }, 180_000);
});
