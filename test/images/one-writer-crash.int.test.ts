// The cache lock and crashes, on the real binary: a second writer (gateway or offline CLI) is told
// the holder's pid; kill -9 during fills and CLI imports (through the daemon) loses no acknowledged
// import and leaves no corrupt blob; the stale lock of a killed gateway is taken over.
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { unifiedImage } from '../../fixtures/images/make.ts';
import { fakeLxd, type FakeLxd } from '../helpers/fake-upstreams.ts';
import { get } from '../helpers/images.ts';
import { cli, DEMO, layout, spawnGateway, waitHealthy, type Layout } from '../helpers/service.ts';

let l: Layout | undefined;
let upstream: FakeLxd | undefined;
afterEach(async () => {
  await upstream?.close();
  l?.cleanup();
  l = upstream = undefined;
});

const DEMO_IMAGES = DEMO.replace('config:\n', 'config:\n  security.devlxd.images: "true"\n');
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
const holderPid = (cacheDir: string): number => JSON.parse(readFileSync(join(cacheDir, 'lock'), 'utf8')).pid;

it('refuses a second writer with the holder pid; takes over the lock of a killed gateway', async () => {
  l = layout({ demo: DEMO }, 'images:\n  cache_dir: ./cache\n');
  const other = join(l.dir, 'other.yaml');
  // Another config on the same cache, with no admin API: its CLI can only work offline.
  writeFileSync(
    other,
    readFileSync(l.configFile, 'utf8').replace('runtime_dir: ./run', 'runtime_dir: ./run2') +
      'admin:\n  enabled: false\n',
  );
  const gw = spawnGateway(l.configFile);
  try {
    await waitHealthy(l.adminSock);
    const pid = holderPid(join(l.dir, 'cache'));
    const offline = await cli(['cache', 'gc', '--config', other]);
    expect(offline.code).not.toBe(0);
    expect(offline.stderr).toContain(`locked by pid ${pid}`);
    const online = await cli(['cache', 'gc', '--config', l.configFile, '-o', 'json']);
    expect(online.code, online.stderr).toBe(0);
  } finally {
    gw.kill('SIGKILL');
    await new Promise((r) => gw.once('exit', r));
  }
  // The killed gateway's lock file is still there; the offline CLI sees no live holder and proceeds.
  const after = await cli(['cache', 'gc', '--config', other, '-o', 'json']);
  expect(after.code, after.stderr).toBe(0);
}, 180_000);

it('kill -9 during fills and CLI imports through the daemon: no lost acknowledged import, no corrupt blob', async () => {
  l = layout({ demo: DEMO_IMAGES }, '');
  upstream = await fakeLxd(join(l.dir, 'lxd.sock'));
  writeFileSync(
    l.configFile,
    `${readFileSync(l.configFile, 'utf8')}images:\n  cache_dir: ./cache\n  upstreams:\n    - {type: lxd, socket: ${upstream.socket}}\n`,
  );
  const remote = await Promise.all([0, 1, 2].map(() => unifiedImage(1024 * 1024)));
  for (const img of remote) upstream.images.set(img.fingerprint, { img, public: true, cached: false });
  upstream.chunkDelay = 5;
  const acked = new Set<string>();
  let n = 0;
  for (let round = 0; round < 3; round++) {
    const gw = spawnGateway(l.configFile);
    await waitHealthy(l.adminSock);
    let stop = false;
    const importer = (async () => {
      while (!stop) {
        const img = await unifiedImage(256 * 1024);
        const file = join(l!.dir, `i${n++}.tar.gz`);
        writeFileSync(file, img.files[0]!);
        const r = await cli(['images', 'import', file, '--config', l!.configFile, '-o', 'json']);
        if (r.code === 0) {
          expect(JSON.parse(r.stdout)[0].fingerprint).toBe(img.fingerprint);
          acked.add(img.fingerprint);
        }
      }
    })();
    const pulls = remote.map((img) =>
      get(l!.guestSock, `/1.0/images/${img.fingerprint}/export`).catch(() => undefined),
    );
    await new Promise((r) => setTimeout(r, 400 + round * 300));
    gw.kill('SIGKILL');
    stop = true;
    await new Promise((r) => gw.once('exit', r));
    await Promise.allSettled([importer, ...pulls]);
  }
  const gw = spawnGateway(l.configFile);
  try {
    await waitHealthy(l.adminSock);
    const listed = JSON.parse((await cli(['images', 'ls', '--config', l.configFile, '-o', 'json'])).stdout) as {
      fingerprint: string;
    }[];
    const have = new Set(listed.map((i) => i.fingerprint));
    for (const fp of acked) expect(have.has(fp), `acknowledged import ${fp}`).toBe(true);
    const verify = await cli(['cache', 'verify', '--config', l.configFile, '-o', 'json']);
    expect(verify.code, verify.stderr).toBe(0);
    const steps = JSON.parse(verify.stdout) as { step: string; checked: number; removed: number }[];
    expect(steps.find((s) => s.step === 're-hash blobs')).toMatchObject({ removed: 0 });
    expect(steps.find((s) => s.step === 'drop images with missing or bad blobs')).toMatchObject({ removed: 0 });
    upstream.chunkDelay = 0;
    for (const img of remote) {
      const got = await get(l.guestSock, `/1.0/images/${img.fingerprint}/export`);
      expect(got.status).toBe(200);
      expect(sha(got.body)).toBe(img.fingerprint);
    }
    console.log(
      `kill -9 x3 during fills and CLI imports: ${acked.size} acknowledged imports all present, ` +
        `${steps.find((s) => s.step === 're-hash blobs')!.checked} blobs re-hashed, 0 corrupt`,
    );
    expect(acked.size).toBeGreaterThan(0);
  } finally {
    gw.kill('SIGTERM');
    await new Promise((r) => gw.once('exit', r));
  }
}, 300_000);
