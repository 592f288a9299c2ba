// bench/cluster: one guestgate per member of a real 2-member LXD 5.0.2 cluster (scripts/cluster-setup.sh),
// each member holding N running containers, next to one guestgate in front of the host's standalone LXD with
// N containers, all in one run. Per gateway (a separate `guestgate serve` process, started one at a time):
//   start   from spawn until its admin API lists all N local instances with their init pid (indexed)
//   RSS     right after that, and after the event rounds
//   events  a config change PATCHed through member 1's API (for member 2's gateway: through the cluster, LXD
//           forwards it and member 2's lifecycle event reaches its gateway) until a websocket listener inside
//           a container on that member receives the guest event; the container stamps the arrival itself
//           (same kernel clock), so nothing between the container and this process is counted
// Prints figures; asserts nothing.   node bench/cluster/run.ts   (root; the image of scripts/lxd-setup.sh)
// Env: BENCH_INSTANCES (per member and standalone, default 100), BENCH_CHANGES (default 30).
import { type ChildProcess, spawn } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { http } from '../../test/helpers/service.ts';
import { cluster } from '../../test/interop/cluster.ts';
import { LXD_SOCKET } from '../../test/interop/lxd-gateway.ts';
import { type Cli, LXD_CLI, launchContainer, lxc, lxdAvailable } from '../../test/interop/lxd-harness.ts';

const N = Number(process.env.BENCH_INSTANCES ?? 100);
const CHANGES = Number(process.env.BENCH_CHANGES ?? 30);
const root = fileURLToPath(new URL('../../', import.meta.url));
const LISTEN = readFileSync(join(root, 'test/interop/fixtures/ws-listen.py'), 'utf8');

if (process.getuid?.() !== 0) {
  console.error('bench/cluster needs root (network namespaces, LXD daemons, containers).');
  process.exit(1);
}
const avail = await lxdAvailable();
if (!avail.ok) {
  console.error(`bench/cluster needs the host's LXD and its image: ${avail.why} (scripts/lxd-setup.sh)`);
  process.exit(1);
}

async function pool<T>(items: T[], width: number, f: (t: T) => Promise<void>): Promise<void> {
  const queue = [...items];
  await Promise.all(
    Array.from({ length: width }, async () => {
      for (let t = queue.shift(); t !== undefined; t = queue.shift()) await f(t);
    }),
  );
}

const q = (xs: number[], p: number): number =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))]!;
const rssMiB = (pid: number): number =>
  Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;

interface Side {
  label: string;
  cli: Cli;
  /** The API the gateway fronts, and the one changes are sent to. */
  socket: string;
  changeSocket: string;
  target: string | undefined;
  prefix: string;
  dir: string;
  gw?: ChildProcess;
}

const work = mkdtempSync(join(tmpdir(), 'gg-bench-cluster-'));
chmodSync(work, 0o755);
const cl = cluster('lxd');
const sides: Side[] = [];
const standalone: string[] = [];
try {
  await cl.setup();
  const [M1, M2] = cl.members;
  const mk = (
    label: string,
    cli: Cli,
    socket: string,
    changeSocket: string,
    target: string | undefined,
    prefix: string,
  ): Side => {
    const dir = join(work, prefix);
    mkdirSync(join(dir, 'run/devlxd'), { recursive: true });
    for (const d of [dir, join(dir, 'run'), join(dir, 'run/devlxd')]) chmodSync(d, 0o755);
    writeFileSync(
      join(dir, 'guestgate.yaml'),
      `runtime_dir: ${dir}/run\nstate_dir: ${dir}/state\nguest: {dialect: lxd-5.0, raw_content_type: dialect}\n` +
        `inventory: {source: lxd, socket: ${socket}}\nlog: {level: warn}\n`,
    );
    return { label, cli, socket, changeSocket, target, prefix, dir };
  };
  sides.push(
    mk('standalone LXD', LXD_CLI, LXD_SOCKET, LXD_SOCKET, undefined, 'ggcb-sa'),
    mk(`cluster ${M1}`, cl.cli(M1), cl.socket(M1), cl.socket(M1), M1, 'ggcb-m1'),
    mk(`cluster ${M2}`, cl.cli(M1), cl.socket(M2), cl.socket(M1), M2, 'ggcb-m2'),
  );

  // N containers per side: the first one (…-000) listens for events through its side's gateway.
  const t0 = performance.now();
  for (const s of sides) {
    await launchContainer(`${s.prefix}-000`, {
      replace: true,
      cli: s.cli,
      ...(s.target ? { target: s.target } : {}),
      guestSocketDir: join(s.dir, 'run/devlxd'),
    });
    if (s.target === undefined) standalone.push(`${s.prefix}-000`);
    const rest = Array.from({ length: N - 1 }, (_, i) => `${s.prefix}-${String(i + 1).padStart(3, '0')}`);
    await pool(rest, 6, async (name) => {
      await lxc(['delete', '--force', name], { cli: s.cli }).catch(() => {});
      const target = s.target ? ['--target', s.target] : [];
      await lxc(['init', 'guestgate-ci', name, ...target, '--config', 'raw.lxc=lxc.init.cmd = /bin/sleep infinity'], {
        cli: s.cli,
        timeoutMs: 300_000,
      });
      if (s.target === undefined) standalone.push(name);
      await lxc(['start', name], { cli: s.cli, timeoutMs: 300_000 });
    });
  }
  console.log(`${3 * N} containers running (${N} per side) in ${((performance.now() - t0) / 1000).toFixed(0)} s`);

  console.log(
    `\nguestgate bench/cluster (LXD 5.0.2, ${N} running instances per member / standalone; ${CHANGES} changes)`,
  );
  console.log(
    'gateway                 start ms   RSS MiB   RSS after   event p50 ms   p99 ms   max ms   after answer p50/p99   indexed/known',
  );
  for (const s of sides) {
    const admin = join(s.dir, 'run/admin.sock');
    const started = performance.now();
    s.gw = spawn(
      process.execPath,
      [join(root, 'bin/guestgate.js'), 'serve', '--config', join(s.dir, 'guestgate.yaml')],
      {
        stdio: ['ignore', 'inherit', 'inherit'],
      },
    );
    let indexed = 0;
    let known = 0;
    for (;;) {
      const r = await http(admin, 'GET', '/1.0/instances').catch(() => undefined);
      if (r?.status === 200) {
        const list = JSON.parse(r.text) as { key: string; identity?: { init_pid?: number } }[];
        const mine = list.filter((i) => i.key.startsWith(`${s.prefix}-`) || i.key.includes(`/${s.prefix}-`));
        indexed = mine.filter((i) => i.identity?.init_pid !== undefined).length;
        known = list.length;
        if (indexed >= N) break;
      }
      if (performance.now() - started > 120_000) throw new Error(`${s.label}: ${indexed} of ${N} indexed after 120 s`);
      await new Promise((r) => setTimeout(r, 10));
    }
    const startMs = performance.now() - started;
    const rss0 = rssMiB(s.gw.pid!);

    // The listener, entered by the container's init pid (no daemon relays its output).
    const pid = (
      JSON.parse((await http(s.changeSocket, 'GET', `/1.0/instances/${s.prefix}-000/state`)).text) as {
        metadata: { pid: number };
      }
    ).metadata.pid;
    const child = spawn(
      'nsenter',
      ['-t', String(pid), '-a', 'env', 'STAMP=1', `T=${CHANGES * 20}`, 'python3', '-c', LISTEN, '', String(CHANGES)],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    const arrivals = new Map<string, number>();
    let wake: (() => void) | undefined;
    let pending = '';
    let ready = false;
    child.stdout!.on('data', (b: Buffer) => {
      pending += b.toString('utf8');
      for (let i = pending.indexOf('\n'); i >= 0; i = pending.indexOf('\n')) {
        const line = pending.slice(0, i);
        pending = pending.slice(i + 1);
        if (line === 'READY') ready = true;
        else {
          const sp = line.indexOf(' ');
          const ev = JSON.parse(line.slice(sp + 1)) as { type: string; metadata: { key?: string; value?: string } };
          if (ev.type === 'config' && ev.metadata.key === 'user.bench')
            arrivals.set(ev.metadata.value!, Number(line.slice(0, sp)) * 1000);
        }
        wake?.();
      }
    });
    const until = async (cond: () => boolean, what: string): Promise<void> => {
      const deadline = Date.now() + 30_000;
      while (!cond()) {
        if (Date.now() > deadline) throw new Error(`${s.label}: ${what} within 30 s`);
        await new Promise<void>((r) => {
          wake = r;
          setTimeout(r, 200);
        });
      }
    };
    await until(() => ready, 'listener ready');
    const lat: number[] = [];
    const afterAnswer: number[] = [];
    for (let i = 0; i < CHANGES; i++) {
      const v = `${Date.now()}-${i}`;
      const sent = Date.now();
      const body = JSON.stringify({ config: { 'user.bench': v } });
      const r = await http(s.changeSocket, 'PATCH', `/1.0/instances/${s.prefix}-000`, body, {
        'Content-Type': 'application/json',
      });
      if (r.status !== 200) throw new Error(`${s.label}: PATCH answered ${r.status}: ${r.text}`);
      const answered = Date.now();
      await until(() => arrivals.has(v), `event for change ${i}`);
      lat.push(arrivals.get(v)! - sent);
      afterAnswer.push(arrivals.get(v)! - answered);
    }
    child.kill();
    const rss1 = rssMiB(s.gw.pid!);
    console.log(
      `${s.label.padEnd(22)}${startMs.toFixed(0).padStart(10)}${rss0.toFixed(1).padStart(10)}${rss1.toFixed(1).padStart(12)}` +
        `${q(lat, 0.5).toFixed(1).padStart(15)}${q(lat, 0.99).toFixed(1).padStart(9)}${Math.max(...lat)
          .toFixed(1)
          .padStart(9)}` +
        `${`${q(afterAnswer, 0.5).toFixed(1)} / ${q(afterAnswer, 0.99).toFixed(1)}`.padStart(23)}` +
        `${`${indexed}/${known}`.padStart(16)}`,
    );
    s.gw.kill('SIGTERM');
  }
  console.log(
    "\nstart = spawn until all local instances are indexed (the other member's are known, never indexed);\n" +
      "event = PATCH sent (member 1's API for both members) until the guest's listener received the event;\n" +
      'after answer = the same from when LXD answered the PATCH (negative: the event came first).',
  );
} finally {
  for (const s of sides) s.gw?.kill('SIGKILL');
  await pool(standalone, 6, async (name) => {
    await lxc(['delete', '--force', name]).catch(() => {});
  });
  await cl.teardown().catch((e: Error) => console.error(`cluster teardown: ${e.message}`));
  rmSync(work, { recursive: true, force: true });
}
