// Image export benchmark, like for like and in one run, every guest figure taken from INSIDE a real LXD
// container with curl (a native client): guestgate (its guest socket mounted at /dev/lxd, images from
// the host's LXD over its unix socket) vs LXD 5.0.2's own devlxd (security.devlxd.images=true).
//   cold: the first pull through guestgate (upstream read, sha256, tmp write, fsync, commit), cache
//         emptied before each round; beside it the upstream's own raw rate in the same round (host curl of
//         /1.0/images/<fp>/export on LXD's unix socket, the ceiling of any first pull) and LXD's devlxd;
//         and, as ceilings, one sha256 stream in memory and the disk's own O_DIRECT write rate (dd);
//   warm: guestgate from its cache vs LXD's devlxd, 1 and 8 concurrent downloads.
// Prints GB/s and ratios; asserts nothing.   npm run bench:images   (root; scripts/lxd-setup.sh first)
// Env: BENCH_SIZES_MIB (default "96,1024"), BENCH_ROUNDS (default 3; medians), BENCH_PREFIX (names of
// the containers and image aliases it creates, default "ggbench-img-"), BENCH_WARM=0 (cold pulls only), BENCH_COLD=0 (warm only).
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { launchContainer, lxc, lxdAvailable, type Container } from '../../test/interop/lxd-harness.ts';
import { LXD_SOCKET, startLxdGateway, type LxdGateway } from '../../test/interop/lxd-gateway.ts';

const run = promisify(execFile);
const SIZES = (process.env.BENCH_SIZES_MIB ?? '96,1024').split(',').map(Number);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const PREFIX = process.env.BENCH_PREFIX ?? 'ggbench-img-';
const CONCURRENCY = process.env.BENCH_WARM === '0' ? [] : [1, 8];
const COLD = process.env.BENCH_COLD !== '0';

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
const f2 = (x: number): string => x.toFixed(2);

/** `n` concurrent curls of `url` on `socket` inside `c` (or on the host): aggregate GB/s over the wall time. */
async function pull(c: Container | undefined, socket: string, url: string, n: number, expect: number): Promise<number> {
  const script = `s=$(date +%s%N); for i in $(seq ${n}); do curl -s -o /dev/null -w '%{http_code} %{size_download} %{time_total}\\n' --unix-socket ${socket} ${url} & done; wait; e=$(date +%s%N); echo wall $((e-s))`;
  const out = c
    ? await c.exec(['sh', '-c', script], { timeoutMs: 600_000 }).then((r) => {
        if (r.code !== 0) throw new Error(`curl in ${c.name}: ${r.stderr}`);
        return r.stdout;
      })
    : (await run('sh', ['-c', script], { maxBuffer: 1 << 20 })).stdout;
  const lines = out.trim().split('\n');
  const wall = Number(lines.pop()!.split(' ')[1]) / 1e9;
  const rows = lines.map((l) => l.split(' ').map(Number) as [number, number, number]);
  for (const [code, size] of rows)
    if (code !== 200 || size !== expect)
      throw new Error(`${c?.name ?? 'host'}: HTTP ${code}, ${size} of ${expect} bytes`);
  // One download: curl's own transfer time (no process start); several: all bytes over the wall time.
  return n === 1 ? expect / rows[0]![2] / 1e9 : (expect * n) / wall / 1e9;
}

/** GB/s of the disk writing `bytes` sequentially into `dir` (dd, 4 MiB O_DIRECT writes, fsynced), as a fill does. */
async function diskRate(dir: string, bytes: number): Promise<number> {
  const file = join(dir, 'disk-rate');
  const count = Math.ceil(bytes / (4 << 20));
  try {
    const t = performance.now();
    await run('dd', ['if=/dev/zero', `of=${file}`, 'bs=4M', `count=${count}`, 'oflag=direct', 'conv=fsync']);
    return (count * (4 << 20)) / ((performance.now() - t) / 1000) / 1e9;
  } finally {
    rmSync(file, { force: true });
  }
}

/** GB/s of one sha256 stream over 512 MiB in 4 MiB updates (the fill's own slab size), best of 3. */
function sha256Rate(): number {
  const slab = randomBytes(4 << 20);
  let best = 0;
  for (let r = 0; r < 3; r++) {
    const h = createHash('sha256');
    const t = performance.now();
    for (let i = 0; i < 128; i++) h.update(slab);
    h.digest();
    best = Math.max(best, (128 * slab.length) / ((performance.now() - t) / 1000) / 1e9);
  }
  return best;
}

async function sha256File(p: string): Promise<string> {
  const h = createHash('sha256');
  for await (const c of createReadStream(p, { highWaterMark: 4 << 20 })) h.update(c as Buffer);
  return h.digest('hex');
}

/** A public LXD image of incompressible bytes (plain tar), so every side moves the same real bytes. */
async function makeImage(work: string, mib: number): Promise<string> {
  const dir = join(work, `img${mib}`);
  mkdirSync(join(dir, 'rootfs'), { recursive: true });
  const blob = join(dir, 'rootfs', 'blob');
  writeFileSync(blob, Buffer.alloc(0));
  for (let left = mib; left > 0; left -= 64)
    writeFileSync(blob, randomBytes(Math.min(64, left) * 1024 * 1024), { flag: 'a' });
  writeFileSync(
    join(dir, 'metadata.yaml'),
    `architecture: x86_64\ncreation_date: ${Math.floor(Date.now() / 1000)}\nproperties:\n  description: guestgate image bench ${mib} MiB\n`,
  );
  const tar = join(work, `img${mib}.tar`);
  await run('tar', ['-cf', tar, '-C', dir, 'metadata.yaml', 'rootfs']);
  rmSync(dir, { recursive: true });
  const fp = await sha256File(tar);
  await lxc(['image', 'delete', `${PREFIX}${mib}`]).catch(() => {});
  await lxc(['image', 'import', tar, '--alias', `${PREFIX}${mib}`, '--public'], { timeoutMs: 600_000 });
  rmSync(tar);
  return fp;
}

const avail = await lxdAvailable();
if (!avail.ok) {
  console.error(`LXD not available (this bench needs a running LXD and root): ${avail.why}`);
  process.exit(1);
}

const work = mkdtempSync(join(tmpdir(), 'gg-bench-img-'));
let gw: LxdGateway | undefined;
const made: Container[] = [];
const images: string[] = [];
try {
  gw = await startLxdGateway({ images: { upstreams: [{ type: 'lxd', socket: LXD_SOCKET }] } });
  const config = { 'security.devlxd.images': 'true' };
  const [gg, lx] = await Promise.all([
    launchContainer(`${PREFIX}gg`, { replace: true, guestSocketDir: gw.socketDir, config }),
    launchContainer(`${PREFIX}lxd`, { replace: true, config }),
  ]);
  made.push(gg, lx);
  await gw.until(() => gw!.service.inventory.get(gg.name)?.identity.initPid !== undefined, 15_000, `${gg.name} known`);
  const svc = gw.service.images;
  console.log(`image export, from inside LXD containers (curl), ${ROUNDS} rounds, medians; GB/s = 1e9 bytes/s`);
  console.log('  guestgate: guest socket mounted at /dev/lxd, upstream = this LXD over its unix socket');
  console.log('  LXD:       LXD 5.0.2 devlxd (/dev/lxd/sock, security.devlxd.images=true), same image');
  console.log('  upstream:  host curl of /1.0/images/<fp>/export on LXD unix.socket (the ceiling of a first pull)\n');
  const summary: string[] = [];
  const hashRate = sha256Rate();
  console.log(
    `sha256 of one stream on this CPU (Node's OpenSSL, the fill's hash, in memory, nothing else running): ` +
      `${f2(hashRate)} GB/s; a verified first pull can never be faster\n`,
  );
  for (const mib of SIZES) {
    const fp = await makeImage(work, mib);
    images.push(fp);
    const url = `http://lxd/1.0/images/${fp}/export`;
    const bytes = Number((await lxc(['query', `/1.0/images/${fp}`]).then((s) => JSON.parse(s))).size);
    await pull(lx, '/dev/lxd/sock', url, 1, bytes); // LXD's page cache, both sides' first touch
    const cold = {
      gg: [] as number[],
      up: [] as number[],
      lxd: [] as number[],
      cpu: [] as number[],
      disk: [] as number[],
    };
    for (let r = 0; r < (COLD ? ROUNDS : 0); r++) {
      await svc.remove(fp).catch(() => {});
      cold.up.push(await pull(undefined, LXD_SOCKET, `http://x/1.0/images/${fp}/export`, 1, bytes));
      const cpu0 = process.cpuUsage();
      const w0 = performance.now();
      cold.gg.push(await pull(gg, '/dev/lxd/sock', url, 1, bytes));
      const cpu = process.cpuUsage(cpu0);
      cold.cpu.push((cpu.user + cpu.system) / 1000 / (performance.now() - w0));
      cold.lxd.push(await pull(lx, '/dev/lxd/sock', url, 1, bytes));
      cold.disk.push(await diskRate(work, bytes));
    }
    if (!COLD) await pull(gg, '/dev/lxd/sock', url, 1, bytes); // fills the cache for the warm rounds
    const c = { gg: median(cold.gg), up: median(cold.up), lxd: median(cold.lxd) };
    console.log(`${mib} MiB (${(bytes / 1e6).toFixed(1)} MB):`);
    if (COLD)
      console.log(
        `  cold  guestgate ${f2(c.gg)}  upstream raw ${f2(c.up)}  LXD devlxd ${f2(c.lxd)}   ` +
          `guestgate/upstream x${f2(c.gg / c.up)}  guestgate/LXD x${f2(c.gg / c.lxd)}` +
          `   (rounds: ${cold.gg.map(f2).join(' ')} | ${cold.up.map(f2).join(' ')} | ${cold.lxd.map(f2).join(' ')})`,
      );
    if (COLD)
      console.log(
        `        guestgate's own CPU during the cold pull: ${f2(median(cold.cpu))} cores (of 2; every thread); ` +
          `ceilings of a verified, durable first pull: sha256 x${f2(hashRate / c.up)} of upstream, the disk ` +
          `(dd of the same size, O_DIRECT, fsynced, same filesystem) ${f2(median(cold.disk))} GB/s = x${f2(median(cold.disk) / c.up)}`,
      );
    if (COLD)
      summary.push(
        `${mib} MiB cold: x${f2(c.gg / c.up)} of upstream (sha256 alone: x${f2(hashRate / c.up)}, the disk alone: ` +
          `x${f2(median(cold.disk) / c.up)}), x${f2(c.gg / c.lxd)} of LXD devlxd`,
      );
    for (const n of CONCURRENCY) {
      const w = { gg: [] as number[], lxd: [] as number[] };
      for (let r = 0; r < ROUNDS; r++) {
        w.gg.push(await pull(gg, '/dev/lxd/sock', url, n, bytes));
        w.lxd.push(await pull(lx, '/dev/lxd/sock', url, n, bytes));
      }
      const g = median(w.gg);
      const l = median(w.lxd);
      console.log(
        `  warm x${n}  guestgate ${f2(g)}  LXD devlxd ${f2(l)}   guestgate/LXD x${f2(g / l)}` +
          `   (rounds: ${w.gg.map(f2).join(' ')} | ${w.lxd.map(f2).join(' ')})`,
      );
      summary.push(`${mib} MiB warm x${n}: x${f2(g / l)} of LXD devlxd`);
    }
  }
  console.log(`\nratios (same run):\n  ${summary.join('\n  ')}`);
} finally {
  for (const c of made) await c.delete().catch(() => {});
  await gw?.close().catch(() => {});
  for (const fp of images) await lxc(['image', 'delete', fp]).catch(() => {});
  rmSync(work, { recursive: true, force: true });
}
