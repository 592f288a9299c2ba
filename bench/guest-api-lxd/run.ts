// Benchmark, side by side and in the same run, from inside real LXD containers: guestgate (LXD inventory
// source, dialect lxd-5.0) vs LXD 5.0.2's own devlxd.
//   - GET /1.0/config/<key> over keep-alive connections (1/16/64): req/s, p50, p99 (load.py, closed loop)
//   - warm image export of the same public image: GB/s (curl to /dev/null, median of 5 after a warm-up)
// Prints figures and ratios; asserts nothing.   node bench/guest-api-lxd/run.ts   (root; scripts/lxd-setup.sh first)
// Env: BENCH_SECONDS (per point, default 3), BENCH_IMAGE_MB (default 96).
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { launchContainer, lxc, lxdAvailable, type Container } from '../../test/interop/lxd-harness.ts';
import { LXD_SOCKET, startLxdGateway, type LxdGateway } from '../../test/interop/lxd-gateway.ts';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 3);
const IMAGE_MB = Number(process.env.BENCH_IMAGE_MB ?? 96);
const CONNS = [1, 16, 64];
const LOAD = readFileSync(new URL('./load.py', import.meta.url), 'utf8');
const ALIAS = 'gg-bench-img';

interface Load {
  req_s: number;
  p50_ms: number;
  p99_ms: number;
  errors: number;
  requests: number;
}

async function load(c: Container, conns: number): Promise<Load> {
  const r = await c.exec(['python3', '/tmp/load.py', String(conns), String(SECONDS), '/1.0/config/user.x'], {
    timeoutMs: 120_000,
  });
  if (r.code !== 0) throw new Error(`load.py in ${c.name}: ${r.stderr}`);
  return JSON.parse(r.stdout) as Load;
}

async function exportRate(c: Container, fp: string): Promise<{ gbps: number; ms: number; bytes: number }> {
  const cmd = `for i in 0 1 2 3 4 5; do curl -s -o /dev/null -w '%{http_code} %{size_download} %{time_total}\\n' --unix-socket /dev/lxd/sock http://lxd/1.0/images/${fp}/export; done`;
  const r = await c.exec(['sh', '-c', cmd], { timeoutMs: 300_000 });
  const runs = r.stdout
    .trim()
    .split('\n')
    .map((l) => l.split(' '));
  for (const [code] of runs) if (code !== '200') throw new Error(`export in ${c.name}: HTTP ${code}`);
  const timed = runs
    .slice(1)
    .map(([, size, t]) => ({ bytes: Number(size), s: Number(t) }))
    .sort((a, b) => a.s - b.s);
  const med = timed[Math.floor(timed.length / 2)]!;
  return { gbps: med.bytes / med.s / 1e9, ms: med.s * 1000, bytes: med.bytes };
}

const avail = await lxdAvailable();
if (!avail.ok) {
  console.error(`LXD not available: ${avail.why}`);
  process.exit(1);
}

const work = mkdtempSync(join(tmpdir(), 'gg-bench-'));
let gw: LxdGateway | undefined;
const made: Container[] = [];
let fp = '';
try {
  // A public image of incompressible data (plain tar), so both sides move the same real bytes.
  mkdirSync(join(work, 'rootfs'));
  writeFileSync(join(work, 'rootfs', 'blob'), randomBytes(IMAGE_MB * 1024 * 1024));
  writeFileSync(
    join(work, 'metadata.yaml'),
    `architecture: x86_64\ncreation_date: ${Math.floor(Date.now() / 1000)}\nproperties:\n  description: guestgate bench\n`,
  );
  execFileSync('tar', ['-cf', join(work, 'image.tar'), '-C', work, 'metadata.yaml', 'rootfs']);
  fp = createHash('sha256')
    .update(readFileSync(join(work, 'image.tar')))
    .digest('hex');
  await lxc(['image', 'delete', ALIAS]).catch(() => {});
  await lxc(['image', 'import', join(work, 'image.tar'), '--alias', ALIAS, '--public'], { timeoutMs: 300_000 });
  rmSync(join(work, 'rootfs'), { recursive: true });

  gw = await startLxdGateway({ images: { upstreams: [{ type: 'lxd', socket: LXD_SOCKET }] } });
  const config = { 'user.x': 'abc', 'security.devlxd.images': 'true' };
  const [gg, lx] = await Promise.all([
    launchContainer('gg-bench-gg', { replace: true, guestSocketDir: gw.socketDir, config }),
    launchContainer('gg-bench-lxd', { replace: true, config }),
  ]);
  made.push(gg!, lx!);
  await gw.until(
    () => gw!.service.inventory.get('gg-bench-gg')?.identity.initPid !== undefined,
    15_000,
    'gg-bench-gg in the inventory',
  );
  for (const c of made) await c.exec(['sh', '-c', 'cat > /tmp/load.py'], { input: LOAD });

  console.log(
    `guest API from inside LXD containers, ${SECONDS} s per point, 2 load processes at most (python3 epoll, closed loop)`,
  );
  console.log('conns | target    |     req/s |  p50 ms |  p99 ms | errors');
  const rows: { conns: number; g: Load; l: Load }[] = [];
  for (const n of CONNS) {
    const g = await load(gg!, n);
    const l = await load(lx!, n);
    rows.push({ conns: n, g, l });
    for (const [name, r] of [
      ['guestgate', g],
      ['LXD 5.0.2', l],
    ] as const)
      console.log(
        `${String(n).padStart(5)} | ${name.padEnd(9)} | ${r.req_s.toFixed(0).padStart(9)} | ${r.p50_ms.toFixed(3).padStart(7)} | ${r.p99_ms.toFixed(3).padStart(7)} | ${r.errors}`,
      );
  }

  // Cold fill first (not measured), then warm exports on both sides.
  const eg = await exportRate(gg!, fp);
  const el = await exportRate(lx!, fp);
  console.log(`\nimage export, ${(eg.bytes / 1e6).toFixed(1)} MB, median of 5 warm downloads (curl -> /dev/null):`);
  console.log(`  guestgate  ${eg.gbps.toFixed(2)} GB/s (${eg.ms.toFixed(1)} ms)`);
  console.log(`  LXD 5.0.2  ${el.gbps.toFixed(2)} GB/s (${el.ms.toFixed(1)} ms)`);

  console.log('\nratios guestgate / LXD:');
  for (const r of rows)
    console.log(
      `  ${String(r.conns).padStart(2)} conns: req/s x${(r.g.req_s / r.l.req_s).toFixed(1)}, p50 x${(r.l.p50_ms / r.g.p50_ms).toFixed(1)} lower, p99 x${(r.l.p99_ms / r.g.p99_ms).toFixed(1)} lower`,
    );
  console.log(`  export: x${(eg.gbps / el.gbps).toFixed(2)}`);
} finally {
  for (const c of made) await c.delete().catch(() => {});
  await gw?.close().catch(() => {});
  if (fp) await lxc(['image', 'delete', fp]).catch(() => {});
  rmSync(work, { recursive: true, force: true });
}
