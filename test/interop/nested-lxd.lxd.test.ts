// A nested LXD 5.0.2 daemon (Debian's lxd .debs, cached by scripts/debs-fetch.sh) inside a container with
// security.nesting=true, fronted by guestgate (here on the Incus 6.0.4 host: guestgate's socket at
// /dev/incus and /dev/lxd). Its image remote is a simplestreams server that lists one image and holds no
// file (every file request 404), so the only way to get the bytes is the Go client's first try,
// GET /1.0/images/<fp>/export on /dev/lxd/sock: `lxc image copy` and `lxc launch` inside the nested daemon.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ImageService } from '../../src/images/index.ts';
import { DEBS_DIR } from './cloud-init-25.ts';
import { type Container, INCUS_CLI, launchContainer, lxc } from './lxd-harness.ts';
import { INCUS_SOCKET, requireLxd, startLxdGateway, type LxdGateway } from './lxd-gateway.ts';
import { type EmptyStreams, startEmptyStreams } from './streams-without-files.ts';

const cli = INCUS_CLI;
const NAME = 'ggx-nest';
const ALIAS = 'ggx-nest-img';
let gw: LxdGateway | undefined;
let c: Container | undefined;
let streams: EmptyStreams | undefined;
let fp = '';

/** A tiny launchable unified image: /bin/sleep and the two libraries it needs. Imported public. */
async function importSleepImage(): Promise<{ fingerprint: string; size: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'ggx-nest-img-'));
  try {
    const r = join(dir, 'rootfs');
    for (const d of ['bin', 'lib/x86_64-linux-gnu', 'lib64', 'dev', 'proc', 'sys', 'tmp', 'etc', 'root'])
      mkdirSync(join(r, d), { recursive: true });
    copyFileSync('/bin/sleep', join(r, 'bin/sleep'));
    copyFileSync('/lib/x86_64-linux-gnu/libc.so.6', join(r, 'lib/x86_64-linux-gnu/libc.so.6'));
    copyFileSync('/lib64/ld-linux-x86-64.so.2', join(r, 'lib64/ld-linux-x86-64.so.2'));
    writeFileSync(
      join(dir, 'metadata.yaml'),
      'architecture: x86_64\ncreation_date: 1700000000\nproperties:\n  os: ggx\n',
    );
    const file = join(dir, 'image.tar.gz');
    execFileSync('tar', ['--numeric-owner', '-C', dir, '-czf', file, 'metadata.yaml', 'rootfs']);
    const bytes = readFileSync(file);
    const fingerprint = createHash('sha256').update(bytes).digest('hex');
    await lxc(['image', 'delete', ALIAS], { cli }).catch(() => {});
    await lxc(['image', 'import', file, '--alias', ALIAS, '--public'], { cli });
    return { fingerprint, size: bytes.length };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const sh = async (script: string, timeoutMs = 120_000) => {
  const r = await c!.exec(['sh', '-c', script], { timeoutMs });
  return { ...r, out: `${r.stdout}${r.stderr}` };
};

beforeAll(async () => {
  await requireLxd(cli);
  const img = await importSleepImage();
  fp = img.fingerprint;
  streams = await startEmptyStreams(img);
  gw = await startLxdGateway({ cli, images: { upstreams: [{ type: 'incus', socket: INCUS_SOCKET }] } });
  c = await launchContainer(NAME, {
    cli,
    replace: true,
    guestSocketDir: gw.socketDir,
    config: { 'security.nesting': 'true', 'security.guestapi.images': 'true' },
  });
  await c.addDevice('guestgate-lxd', { type: 'disk', source: gw.socketDir, path: '/dev/lxd' });
  await c.addDevice('streams', {
    type: 'proxy',
    listen: 'tcp:127.0.0.1:8443',
    connect: `unix:${streams.dir}/sock`,
    bind: 'container',
  });
  await gw.until(() => gw!.service.inventory.get(NAME)?.identity.initPid !== undefined, 30_000, `${NAME} known`);
  const debs = readdirSync(join(DEBS_DIR, 'nested-lxd')).filter((f) => f.endsWith('.deb'));
  if (debs.length < 16)
    throw new Error(`nested LXD .debs missing in ${DEBS_DIR}/nested-lxd (run scripts/debs-fetch.sh)`);
  const tar = execFileSync(
    'tar',
    ['-C', DEBS_DIR, '-cf', '-', ...debs.map((f) => `nested-lxd/${f}`), 'lxd-client_5.0.2-5+deb12u6_amd64.deb'],
    { maxBuffer: 256 * 1024 * 1024 },
  );
  await c.exec(['sh', '-c', 'mkdir -p /root/d && tar -xf - -C /root/d'], { input: tar });
  const inst = await sh(
    'ip link set lo up && printf "#!/bin/sh\\nexit 101\\n" > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d && ' +
      'DEBIAN_FRONTEND=noninteractive dpkg -i /root/d/nested-lxd/*.deb /root/d/*.deb >/root/dpkg.log 2>&1 || { tail -20 /root/dpkg.log; exit 1; }; ' +
      '(setsid lxd --group root --logfile /root/lxd.log </dev/null >/root/lxd.out 2>&1 &) && lxd waitready --timeout 60 && ' +
      'lxc storage create default dir </dev/null && lxc profile device add default root disk path=/ pool=default </dev/null',
    180_000,
  );
  if (inst.code !== 0) throw new Error(`nested LXD in ${NAME}: ${inst.out}`);
  const cert = await c.exec(
    ['sh', '-c', 'mkdir -p /root/.config/lxc/servercerts && cat > /root/.config/lxc/servercerts/ss.crt'],
    {
      input: streams.cert,
    },
  );
  if (cert.code !== 0) throw new Error(`server cert: ${cert.stderr}`);
  const remote = await sh('lxc remote add ss https://127.0.0.1:8443 --protocol simplestreams --public </dev/null');
  if (remote.code !== 0) throw new Error(`lxc remote add ss: ${remote.out}`);
}, 400_000);

afterAll(async () => {
  await c?.delete();
  await gw?.close();
  await streams?.close();
  if (fp) await lxc(['image', 'delete', fp], { cli }).catch(() => {});
});

describe('a nested LXD 5.0.2 daemon pulls an image only /dev/lxd/sock can provide', () => {
  it('lxc image copy, then lxc launch from it, inside the nested daemon', async () => {
    const stats = () => (gw!.service.deps.images as unknown as ImageService).stats();
    const gate = async (v: string) => {
      await c!.setConfig('security.guestapi.images', v);
      await gw!.until(
        () => gw!.service.inventory.get(NAME)?.config['security.guestapi.images'] === v,
        30_000,
        `gate ${v}`,
      );
    };
    // Negative control: with guestgate's image gate off, nothing else can provide the bytes.
    await gate('false');
    const refused = await sh(`lxc image copy ss:${fp} local: --alias nested </dev/null`, 180_000);
    expect(refused.code, refused.out).not.toBe(0);
    expect(streams!.requests.some((r) => r.includes('lxd_combined.tar.gz'))).toBe(true); // the fallback tried, 404
    streams!.requests.length = 0;
    await gate('true');
    const s0 = stats();
    const copy = await sh(`lxc image copy ss:${fp} local: --alias nested </dev/null`, 180_000);
    expect(copy.code, copy.out).toBe(0);
    const info = await sh('lxc image info nested </dev/null');
    expect(info.stdout).toContain(`Fingerprint: ${fp}`);
    // The stream server was asked for its index only: no file of it was ever requested.
    expect(streams!.requests.filter((r) => !r.includes('/streams/v1/'))).toEqual([]);
    expect(stats().fills + stats().hits).toBe(s0.fills + s0.hits + 1);
    const launch = await sh(
      "lxc launch nested c1 -c security.privileged=true -c raw.lxc='lxc.init.cmd = /bin/sleep infinity' </dev/null",
      180_000,
    );
    expect(launch.code, launch.out).toBe(0);
    const list = await sh('lxc list c1 --format csv -c ns </dev/null');
    expect(list.stdout.trim()).toBe('c1,RUNNING');
  }, 400_000);
});
