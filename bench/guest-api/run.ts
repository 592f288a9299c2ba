// bench/guest-api: the guest API's request rate and latency from INSIDE real LXD containers, like for like,
// all in the same run:
//   guestgate   its socket folder bind-mounted at /dev/lxd (inventory from LXD, identity checks in place)
//   bare node   a bare Node `http` server on a unix socket in that same mounted folder (/dev/lxd/bare.sock)
//   LXD 5.0.2   LXD's own devlxd (/dev/lxd/sock of a twin container with the same config)
// The client is uxload (C, uxload.c here, built static at bench time; one keep-alive connection per
// thread), run inside the containers. Rounds interleave the targets; each figure is the median of the rounds.
//   npm run bench:api   (root; LXD running: scripts/lxd-setup.sh; wrap in flock if the LXD daemon is shared)
// Options: --seconds 3 --rounds 3 --connections 1,16,64 --key user.x --prefix ggap-bench
// Env GUESTGATE_NODE_ARGS: extra Node flags for guestgate (e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`).
// Prints figures and ratios; asserts nothing.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { launchContainer, lxdAvailable, type Container } from '../../test/interop/lxd-harness.ts';
import { LXD_SOCKET } from '../../test/interop/lxd-gateway.ts';
import { isLive } from '../../src/net/unix-listen.ts';
import { medianOf, parseUxload, type Uxload } from './uxload.ts';

const here = fileURLToPath(new URL('.', import.meta.url));
const root = fileURLToPath(new URL('../../', import.meta.url));
const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '3' },
    rounds: { type: 'string', default: '3' },
    connections: { type: 'string', default: '1,16,64' },
    key: { type: 'string', default: 'user.x' },
    prefix: { type: 'string', default: 'ggap-bench' },
  },
});
const SECONDS = Number(values.seconds);
const ROUNDS = Number(values.rounds);
const CONNS = values.connections!.split(',').map(Number);
const KEY = values.key!;

if (process.getuid?.() !== 0) {
  console.error('bench/guest-api needs root (it launches LXD containers).');
  process.exit(1);
}
const avail = await lxdAvailable();
if (!avail.ok) {
  console.error(`bench/guest-api needs a running LXD: ${avail.why} (scripts/lxd-setup.sh)`);
  process.exit(1);
}

const dir = mkdtempSync(join(tmpdir(), 'gg-bench-api-'));
chmodSync(dir, 0o755);
const children: ChildProcess[] = [];
const made: Container[] = [];
try {
  const uxload = join(dir, 'uxload');
  execFileSync('gcc', ['-O2', '-static', '-pthread', '-o', uxload, join(here, 'uxload.c')]);
  const sockDir = join(dir, 'run/devlxd');
  writeFileSync(
    join(dir, 'guestgate.yaml'),
    `runtime_dir: ${dir}/run\nstate_dir: ${dir}/state\nguest: {dialect: lxd-5.0, raw_content_type: dialect}\n` +
      `inventory: {source: lxd, socket: ${LXD_SOCKET}}\nadmin: {enabled: false}\nlog: {level: warn}\n`,
  );
  const nodeArgs = (process.env.GUESTGATE_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const gg = spawn(
    process.execPath,
    [...nodeArgs, join(root, 'bin/guestgate.js'), 'serve', '--config', join(dir, 'guestgate.yaml')],
    { stdio: ['ignore', 'inherit', 'inherit'] },
  );
  children.push(gg);
  await waitLive(join(sockDir, 'sock'));
  const bare = spawn(process.execPath, [join(here, 'bare-server.mjs'), join(sockDir, 'bare.sock')], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  children.push(bare);
  await waitLive(join(sockDir, 'bare.sock'));
  chmodSync(join(sockDir, 'bare.sock'), 0o666);
  for (let d = sockDir; d.startsWith(dir); d = join(d, '..')) chmodSync(d, 0o755);

  const config = { [KEY]: 'abc', 'user.meta-data': 'public-keys: []\n' };
  const [gc, lc] = await Promise.all([
    launchContainer(`${values.prefix}-gg`, { replace: true, guestSocketDir: sockDir, config }),
    launchContainer(`${values.prefix}-lxd`, { replace: true, config }),
  ]);
  made.push(gc!, lc!);
  const bin = readFileSync(uxload);
  for (const c of made)
    await c.exec(['sh', '-c', 'cat > /tmp/uxload && chmod 755 /tmp/uxload'], { input: bin, timeoutMs: 60_000 });

  const run = async (c: Container, sock: string, path: string, n: number, secs = SECONDS): Promise<Uxload> => {
    const r = await c.exec(['/tmp/uxload', sock, path, String(n), String(secs)], { timeoutMs: (secs + 60) * 1000 });
    if (r.code !== 0) throw new Error(`uxload in ${c.name} (${sock} ${path}): exit ${r.code} ${r.stderr}`);
    return parseUxload(r.stdout);
  };
  type Target = [name: string, c: Container, sock: string, path: string];
  const targets: Target[] = [
    ['bare node http (3-byte body)', gc!, '/dev/lxd/bare.sock', '/'],
    [`guestgate /1.0/config/${KEY}`, gc!, '/dev/lxd/sock', `/1.0/config/${KEY}`],
    ['guestgate /1.0/meta-data', gc!, '/dev/lxd/sock', '/1.0/meta-data'],
    [`LXD 5.0.2 /1.0/config/${KEY}`, lc!, '/dev/lxd/sock', `/1.0/config/${KEY}`],
    ['LXD 5.0.2 /1.0/meta-data', lc!, '/dev/lxd/sock', '/1.0/meta-data'],
  ];
  // Every target answers 200 before anything is measured (a wrong mount or key would show as errors).
  for (const [name, c, sock, path] of targets) {
    const w = await run(c, sock, path, 4, 1);
    if (w.errors > 0 || w.requests === 0) throw new Error(`${name}: warm-up got ${w.errors} errors`);
  }

  console.log(
    `guestgate bench/guest-api  (node ${process.version}, ${cpus().length} cores, uxload inside LXD containers, ` +
      `median of ${ROUNDS} interleaved ${SECONDS}s runs per point)`,
  );
  console.log(
    'target                              conns     req/s   p50 ms   p99 ms   max ms  errors   vs bare    vs LXD',
  );
  const summary: string[] = [];
  for (const n of CONNS) {
    const runs: Uxload[][] = targets.map(() => []);
    try {
      for (let round = 0; round < ROUNDS; round++)
        for (const [i, [, c, sock, path]] of targets.entries()) runs[i]!.push(await run(c, sock, path, n));
    } catch (e) {
      // LXD 5.0.2's daemon can die under this load (devlxd reads its connection map without a lock:
      // "fatal error: concurrent map read and map write", canonical/lxd#14706, fixed upstream in 2025).
      // Every run goes through `lxc exec`, so the bench stops here: what is above is complete.
      const up = await lxdAvailable();
      if (up.ok) throw e;
      console.log(
        `LXD's daemon died during the runs at ${n} connections (${String(e).split('\n')[0]}); ` +
          `LXD 5.0.2's devlxd can crash under concurrent guests (canonical/lxd#14706). Rows above are complete; ` +
          'start LXD again (scripts/lxd-setup.sh) to measure the rest.',
      );
      process.exitCode = 2;
      break;
    }
    const med = runs.map(medianOf);
    const bareRps = med[0]!.rps;
    for (const [i, [name]] of targets.entries()) {
      const r = med[i]!;
      const lxd = i === 1 ? med[3] : i === 2 ? med[4] : undefined;
      const vsBare = i === 0 ? '' : `${((100 * r.rps) / bareRps).toFixed(0)}%`;
      const vsLxd = lxd ? `x${(r.rps / lxd.rps).toFixed(1)}` : '';
      console.log(
        `${name.padEnd(36)}${String(n).padStart(5)}${r.rps.toFixed(0).padStart(10)}${ms(r.p50_us)}${ms(r.p99_us)}${ms(r.max_us)}${String(r.errors).padStart(8)}${vsBare.padStart(10)}${vsLxd.padStart(10)}`,
      );
    }
    const worst = Math.max(med[1]!.rps, med[2]!.rps);
    summary.push(
      `@${n}: config ${pct(med[1]!.rps, bareRps)} / meta-data ${pct(med[2]!.rps, bareRps)} of bare; p99 ${(med[1]!.p99_us / 1000).toFixed(2)} / ${(med[2]!.p99_us / 1000).toFixed(2)} ms; ` +
        `client headroom: the same client drove bare node at x${(bareRps / worst).toFixed(2)} guestgate's best rate`,
    );
  }
  const status = readFileSync(`/proc/${gg.pid}/status`, 'utf8');
  const kb = (k: string) => Number(new RegExp(`${k}:\\s+(\\d+)`).exec(status)?.[1] ?? 0) / 1024;
  console.log(`guestgate RSS: ${kb('VmRSS').toFixed(1)} MiB now, ${kb('VmHWM').toFixed(1)} MiB peak`);
  for (const s of summary) console.log(s);
} finally {
  for (const c of made) await c.delete().catch(() => {});
  for (const c of children) c.kill('SIGTERM');
  await Promise.all(children.map((c) => new Promise((r) => (c.exitCode !== null ? r(0) : c.once('exit', r)))));
  rmSync(dir, { recursive: true, force: true });
}

function ms(us: number): string {
  return (us / 1000).toFixed(3).padStart(9);
}

function pct(x: number, of: number): string {
  return `${((100 * x) / of).toFixed(0)}%`;
}

async function waitLive(sock: string): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if (existsSync(sock) && (await isLive(sock))) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${sock} did not come up`);
}
