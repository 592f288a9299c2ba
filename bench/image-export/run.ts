// Image export benchmark: prints figures, asserts nothing.
//   node bench/image-export/run.ts [--mib 85] [--runs 7]
// 1. builds a ~90 MB incompressible unified image (tar.gz of random bytes) in a dir upstream;
// 2. cold fill: first export through guestgate (upstream read + sha256 + tmp write + fsync + commit);
// 3. warm export: the cached image over a unix socket, downloaded by curl (another process, like
//    the figure measured for LXD), several runs, median;
// 4. if LXD answers on /var/lib/lxd/unix.socket, the same image imported there and exported by LXD.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pino from 'pino';
import { unifiedImage, writeToDir } from '../../fixtures/images/make.ts';
import { createImageService } from '../../src/images/index.ts';

const run = promisify(execFile);
const arg = (name: string, def: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : def;
};
const MIB = arg('mib', 85);
const RUNS = arg('runs', 7);
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
const gbps = (bytes: number, s: number): string => `${(bytes / s / 1e9).toFixed(2)} GB/s`;

/** Download with curl over a unix socket; returns seconds and bytes. */
async function curl(socket: string, url: string): Promise<{ s: number; bytes: number; status: string }> {
  const { stdout } = await run('curl', [
    '-s',
    '--unix-socket',
    socket,
    '-o',
    '/dev/null',
    '-w',
    '%{http_code} %{time_total} %{size_download}',
    url,
  ]);
  const [status, s, bytes] = stdout.trim().split(' ');
  return { status: status!, s: Number(s), bytes: Number(bytes) };
}

async function measure(label: string, socket: string, url: string, expectBytes: number): Promise<number | undefined> {
  const times: number[] = [];
  await curl(socket, url); // warm the page cache and the connection path
  for (let i = 0; i < RUNS; i++) {
    const r = await curl(socket, url);
    if (r.status !== '200' || r.bytes !== expectBytes) {
      console.log(`  ${label}: run ${i + 1} answered ${r.status} with ${r.bytes} bytes; skipped`);
      return undefined;
    }
    times.push(r.s);
  }
  const med = median(times);
  console.log(
    `  ${label}: median ${(med * 1000).toFixed(1)} ms -> ${gbps(expectBytes, med)}  (runs: ${times.map((t) => (t * 1000).toFixed(0)).join(', ')} ms)`,
  );
  return expectBytes / med;
}

async function lxdAvailable(): Promise<boolean> {
  if (!existsSync('/var/lib/lxd/unix.socket')) return false;
  try {
    await run('lxc', ['info'], { timeout: 10_000 });
    return true;
  } catch {
    return false;
  }
}

const dir = await mkdtemp(join(tmpdir(), 'gg-bench-'));
try {
  console.log(`image-export bench: building a unified image with ${MIB} MiB of random rootfs ...`);
  const img = await unifiedImage(MIB * 1024 * 1024, 'gzip');
  const size = img.files[0]!.length;
  const upstream = join(dir, 'upstream');
  await writeToDir(upstream, img);
  const file = join(upstream, img.fingerprint);
  console.log(`  ${img.fingerprint} (${(size / 1e6).toFixed(1)} MB, .tar.gz)`);

  const svc = await createImageService(
    {
      cache_dir: undefined,
      max_size: 4 * size,
      pinned: [],
      file_mode: 0o600,
      upstreams: [{ type: 'dir', path: upstream, public: true }],
      lookup_ttl: 5_000,
      drain_timeout: 300_000,
      upstream_timeouts: undefined,
    },
    { stateDir: join(dir, 'state'), log: pino({ level: 'silent' }) },
  );
  const socket = join(dir, 'guest.sock');
  const server = http.createServer(async (req, res) => {
    const ac = new AbortController();
    res.on('close', () => !res.writableFinished && ac.abort());
    try {
      const ref = await svc.lookup(img.fingerprint, 'exact');
      if (!ref) return void res.writeHead(404).end();
      await svc.serveExport(req, res, ref, { signal: ac.signal });
    } catch (e) {
      if (!res.headersSent) res.writeHead(500).end(String(e));
    }
  });
  await new Promise<void>((r) => server.listen(socket, r));
  const url = `http://unix.socket/1.0/images/${img.fingerprint}/export`;

  console.log('\ncold fill (dir upstream -> sha256 -> tmp -> fsync -> rename; the guest streams while it fills):');
  const cold = await curl(socket, url);
  console.log(
    `  first export: ${(cold.s * 1000).toFixed(0)} ms -> ${gbps(cold.bytes, cold.s)} (status ${cold.status}, ${cold.bytes} bytes)`,
  );

  console.log(`\nwarm export over a unix socket (curl, ${RUNS} runs):`);
  const ours = await measure('guestgate', socket, url, size);
  const ru = process.resourceUsage();
  console.log(
    `  guestgate process: max RSS ${(ru.maxRSS / 1024).toFixed(0)} MiB, rss now ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MiB`,
  );
  console.log(`  cache stats: ${JSON.stringify(svc.stats())}`);

  console.log('\nLXD:');
  if (!(await lxdAvailable())) {
    console.log(
      '  LXD NOT AVAILABLE (no /var/lib/lxd/unix.socket or `lxc info` failed): no side-by-side figure in this run.',
    );
    console.log(
      '  Reference (shared/reference/lxd-5.0.2/README.md): LXD 5.0.2 devlxd export of an 89.5 MB image, ~35 ms with curl (~2.5 GB/s).',
    );
    if (ours)
      console.log(`  ratio vs that reference figure: ${(ours / 2.5e9).toFixed(2)}x (not measured side by side)`);
  } else {
    // Same image into LXD, public, then LXD's own export of it: the main API over unix.socket uses
    // the same imageExport/ServeContent code as the devlxd route.
    await run('lxc', ['image', 'import', file, '--public'], { timeout: 120_000 }).catch(() => undefined);
    const theirs = await measure(
      'LXD (main API export, unix.socket)',
      '/var/lib/lxd/unix.socket',
      `http://unix.socket/1.0/images/${img.fingerprint}/export`,
      size,
    );
    if (ours && theirs) console.log(`  ratio guestgate / LXD: ${(ours / theirs).toFixed(2)}x`);
    await run('lxc', ['image', 'delete', img.fingerprint]).catch(() => undefined);
  }
  server.close();
  await svc.close();
} finally {
  await rm(dir, { recursive: true, force: true });
}
