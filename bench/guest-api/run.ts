// bench/guest-api: guest API throughput and latency, measured from inside a pid namespace (a real
// "instance"), next to a bare Node `http` server measured the same way in the same run.
//   node bench/guest-api/run.ts [--seconds 3] [--connections 1,16,64]
// Needs root (pid namespaces). Prints figures; asserts nothing.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync, chmodSync } from 'node:fs';
import { tmpdir, cpus } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { isLive } from '../../src/net/unix-listen.ts';
import { createNamespace } from '../../test/helpers/namespaces.ts';

const here = fileURLToPath(new URL('.', import.meta.url));
const root = fileURLToPath(new URL('../../', import.meta.url));
const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '3' },
    connections: { type: 'string', default: '1,16,64' },
    rounds: { type: 'string', default: '3' },
  },
});
const SECONDS = Number(values.seconds);
const ROUNDS = Number(values.rounds);
const CONNS = values.connections!.split(',').map(Number);
const LXD_502_RPS = 890; // shared/reference/lxd-5.0.2 README: GET /1.0/config/user.x at 16 connections

if (process.getuid?.() !== 0) {
  console.error('bench/guest-api needs root: the load runs inside a new pid namespace (a real instance).');
  process.exit(1);
}

const dir = mkdtempSync(join(tmpdir(), 'gg-bench-'));
chmodSync(dir, 0o755);
const children: ChildProcess[] = [];
const ns = await createNamespace();
try {
  mkdirSync(join(dir, 'inventory'));
  writeFileSync(
    join(dir, 'inventory', 'bench.yaml'),
    `name: bench\nconfig:\n  user.key: bar\n  volatile.cloud-init.instance-id: 7f1c2a3b-4d5e-4f60-8a9b-0c1d2e3f4a5b\n  user.meta-data: "public-keys: []\\n"\nidentity:\n  init_pid: ${ns.initPid}\n`,
  );
  writeFileSync(
    join(dir, 'guestgate.yaml'),
    `runtime_dir: ${dir}/run\nstate_dir: ${dir}/state\ninventory: {source: dir, dir: ${dir}/inventory}\nadmin: {enabled: false}\nlog: {level: warn}\n`,
  );
  const gg = spawn(
    process.execPath,
    [join(root, 'bin/guestgate.js'), 'serve', '--config', join(dir, 'guestgate.yaml')],
    { stdio: ['ignore', 'inherit', 'inherit'] },
  );
  children.push(gg);
  const ggSock = join(dir, 'run/devlxd/sock');
  const bareSock = join(dir, 'bare.sock');
  const bare = spawn(process.execPath, [join(here, 'bare-server.mjs'), bareSock], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  children.push(bare);
  await waitLive(ggSock);
  await waitLive(bareSock);

  const load = async (sock: string, path: string, conns: number, mode = 'keepalive') => {
    const r = await ns.exec(
      [process.execPath, join(here, 'load.mjs'), sock, path, String(conns), String(SECONDS), '0.5', mode],
      {
        timeoutMs: (SECONDS + 30) * 1000,
      },
    );
    if (r.code !== 0) throw new Error(`load generator failed: ${r.stderr}`);
    return JSON.parse(r.stdout) as { rps: number; p50_ms: number; p99_ms: number; errors: number; requests: number };
  };

  console.log(
    `guestgate bench/guest-api  (node ${process.version}, ${cpus().length} cores, median of ${ROUNDS} interleaved ${SECONDS}s runs per point, client in a pid namespace)`,
  );
  console.log('target                          conns     req/s    p50 ms    p99 ms   errors   vs bare');
  const row = (
    name: string,
    c: number,
    r: { rps: number; p50_ms: number; p99_ms: number; errors: number },
    ref?: number,
  ) =>
    console.log(
      `${name.padEnd(32)}${String(c).padStart(5)}${r.rps.toFixed(0).padStart(10)}${r.p50_ms.toFixed(3).padStart(10)}${r.p99_ms.toFixed(3).padStart(10)}${String(r.errors).padStart(9)}${ref ? `${((100 * r.rps) / ref).toFixed(0).padStart(9)}%` : ''}`,
    );
  const summary: string[] = [];
  type Result = Awaited<ReturnType<typeof load>>;
  // Rounds interleave the targets so machine noise hits all of them alike; each figure is the median.
  const median = (rs: Result[], k: 'rps' | 'p50_ms' | 'p99_ms'): number =>
    rs.map((r) => r[k]).sort((x, y) => x - y)[Math.floor(rs.length / 2)]!;
  const med = (rs: Result[]): Result => ({
    ...rs[0]!,
    rps: median(rs, 'rps'),
    p50_ms: median(rs, 'p50_ms'),
    p99_ms: median(rs, 'p99_ms'),
    errors: rs.reduce((n, r) => n + r.errors, 0),
  });
  // The "new conn" rows open a connection per request: each pays accept + the identity path
  // (SO_PEERPIDFD, PIDFD_GET_PID_NAMESPACE, /proc/<pid>/cgroup, PIDFD_GET_INFO, cgroup stat).
  const targets: [string, string, string, string?][] = [
    ['bare node http (3-byte body)', bareSock, '/'],
    ['guestgate /1.0/config/user.key', ggSock, '/1.0/config/user.key'],
    ['guestgate /1.0/meta-data', ggSock, '/1.0/meta-data'],
    ['bare, new conn per request', bareSock, '/', 'fresh'],
    ['guestgate user.key, new conn', ggSock, '/1.0/config/user.key', 'fresh'],
  ];
  for (const c of CONNS) {
    const runs: Result[][] = targets.map(() => []);
    for (let round = 0; round < ROUNDS; round++)
      for (const [i, [, sock, path, mode]] of targets.entries()) runs[i]!.push(await load(sock, path, c, mode));
    const bare = med(runs[0]!);
    const bareFresh = med(runs[3]!);
    for (const [i, [name]] of targets.entries()) {
      const r = med(runs[i]!);
      row(name, c, r, i === 0 || i === 3 ? undefined : i === 4 ? bareFresh.rps : bare.rps);
      if (i === 1 && c === 16)
        summary.push(
          `config key @16: ${r.rps.toFixed(0)} req/s = ${((100 * r.rps) / bare.rps).toFixed(0)}% of bare, ${(r.rps / LXD_502_RPS).toFixed(0)}x LXD 5.0.2's recorded ~${LXD_502_RPS} req/s, p99 ${r.p99_ms.toFixed(2)} ms`,
        );
    }
  }
  const status = readFileSync(`/proc/${gg.pid}/status`, 'utf8');
  const kb = (k: string) => Number(new RegExp(`${k}:\\s+(\\d+)`).exec(status)?.[1] ?? 0) / 1024;
  console.log(`guestgate RSS: ${kb('VmRSS').toFixed(1)} MiB now, ${kb('VmHWM').toFixed(1)} MiB peak`);
  for (const s of summary) console.log(s);
  console.log('(LXD 5.0.2 live, side by side from inside real containers: node bench/guest-api-lxd/run.ts)');
} finally {
  for (const c of children) c.kill('SIGTERM');
  await ns.close();
  await new Promise((r) => setTimeout(r, 200));
  rmSync(dir, { recursive: true, force: true });
}

async function waitLive(sock: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (existsSync(sock) && (await isLive(sock))) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${sock} did not come up`);
}
