// bench/scale: a gateway with many instances (a `dir` inventory of N files) and with the demo inventory, in
// one run, as separate `guestgate serve` processes:
//   start   spawn until the admin API's guestgate_instances says N (every file read, parsed, indexed)
//   RSS     after start (anonymous / file-backed: the latter is mostly the node binary, shared)
//   edit    one instance's key changed through the admin API (PUT .../config/user.role) until its guest
//           reads the new value (`guest.demo_instance` makes this process that instance's guest); and the
//           same by rewriting the instance's FILE (atomic rename): applied once settled (inventory.settle,
//           1 s by default: a file is never applied half-written), so that figure is settle + the scan
// Prints figures; asserts nothing.   node bench/scale/run.ts   (no root needed)
// Env: BENCH_INSTANCES (default 10000), BENCH_EDITS (default 20), BENCH_ENTRY=dist (run the compiled
// package, `npm run build` first: what an installed guestgate runs; default: the checkout's src/, whose
// TypeScript Node strips at load, which alone holds ~40 MB more).
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { http } from '../../test/helpers/service.ts';

const N = Number(process.env.BENCH_INSTANCES ?? 10_000);
const EDITS = Number(process.env.BENCH_EDITS ?? 20);
const root = fileURLToPath(new URL('../../', import.meta.url));
const dist = process.env.BENCH_ENTRY === 'dist';

const name = (i: number): string => `vm-${String(i).padStart(5, '0')}`;
const instanceYaml = (i: number, role: string): string =>
  `name: ${name(i)}\nproject: default\ntype: container\nconfig:\n` +
  `  volatile.cloud-init.instance-id: 5d2c0c1e-3f4b-4a8e-9d67-${String(i).padStart(12, '0')}\n` +
  `  cloud-init.user-data: |\n    #cloud-config\n    hostname: ${name(i)}\n  user.role: ${role}\n` +
  '  user.meta-data: |\n    public-keys: []\ndevices:\n  root:\n    path: /\n    pool: default\n    type: disk\n' +
  `identity:\n  cgroup: /lxc.payload.${name(i)}\n  root_uid: 0\n`;

const mem = (pid: number): { rss: number; anon: number; file: number } => {
  const s = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (k: string): number => Number(new RegExp(`${k}:\\s+(\\d+)`).exec(s)?.[1] ?? 0) / 1024;
  return { rss: kb('VmRSS'), anon: kb('RssAnon'), file: kb('RssFile') };
};
const q = (xs: number[], p: number): number =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))]!;
const f1 = (x: number): string => x.toFixed(1);

const work = mkdtempSync(join(tmpdir(), 'gg-bench-scale-'));
const children: ChildProcess[] = [];

/** Start a gateway on `inv` (demo instance `demo`); resolves once it lists `count` instances. */
async function start(label: string, inv: string, demo: string, count: number) {
  const dir = join(work, label);
  mkdirSync(dir);
  const config = join(dir, 'guestgate.yaml');
  writeFileSync(
    config,
    `runtime_dir: ${dir}/run\nstate_dir: ${dir}/state\nguest: {dialect: lxd, demo_instance: ${demo}}\n` +
      `inventory: {source: dir, dir: ${inv}}\nlog: {level: error}\n`,
  );
  const entry = dist
    ? [
        '--input-type=module',
        '-e',
        `const { main } = await import(${JSON.stringify(join(root, 'dist/cli/main.js'))}); await main(process.argv.slice(1));`,
      ]
    : [join(root, 'bin/guestgate.js')];
  const t0 = performance.now();
  const gw = spawn(process.execPath, [...entry, 'serve', '--config', config], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  children.push(gw);
  const admin = join(dir, 'run/admin.sock');
  for (;;) {
    const m = await http(admin, 'GET', '/metrics').catch(() => undefined);
    if (m && new RegExp(`^guestgate_instances ${count}$`, 'm').test(m.text)) break;
    if (gw.exitCode !== null) throw new Error(`${label}: guestgate exited (${gw.exitCode})`);
    if (performance.now() - t0 > 300_000) throw new Error(`${label}: not ready in 300 s`);
    await new Promise((r) => setTimeout(r, 10));
  }
  const startMs = performance.now() - t0;
  await new Promise((r) => setTimeout(r, 2000)); // settle: what it holds once idle
  return { gw, admin, guest: join(dir, 'run/devlxd/sock'), startMs, mem: mem(gw.pid!) };
}

/** ms until the guest reads `want` for user.role (polled every 2 ms). */
async function visible(guest: string, want: string, since: number): Promise<number> {
  for (;;) {
    const r = await http(guest, 'GET', '/1.0/config/user.role');
    if (r.text === want) return performance.now() - since;
    if (performance.now() - since > 30_000) throw new Error(`edit not visible in 30 s (guest reads ${r.text})`);
    await new Promise((res) => setTimeout(res, 2));
  }
}

try {
  const inv = join(work, 'inventory');
  mkdirSync(inv);
  for (let i = 0; i < N; i++) writeFileSync(join(inv, `${name(i)}.yaml`), instanceYaml(i, 'web'));
  const demoInv = join(work, 'demo-inventory');
  mkdirSync(demoInv);
  for (const f of ['demo.yaml', 'web-1.yaml'])
    writeFileSync(join(demoInv, f), readFileSync(join(root, 'fixtures/demo/inventory', f)));
  await new Promise((r) => setTimeout(r, 1100)); // files older than inventory.settle: read at once

  console.log(
    `guestgate bench/scale (node ${process.version}, ${dist ? 'compiled dist/' : 'checkout src/ (type stripping)'})`,
  );
  const idle = await start('demo', demoInv, 'demo', 2);
  console.log(
    `demo inventory (2 instances): start ${idle.startMs.toFixed(0)} ms, idle RSS ${f1(idle.mem.rss)} MiB ` +
      `(anonymous ${f1(idle.mem.anon)}, file-backed ${f1(idle.mem.file)})`,
  );
  idle.gw.kill('SIGTERM');

  const big = await start('many', inv, name(42), N);
  console.log(
    `${N} instances: start ${big.startMs.toFixed(0)} ms, RSS ${f1(big.mem.rss)} MiB (anonymous ${f1(big.mem.anon)}, ` +
      `file-backed ${f1(big.mem.file)})`,
  );
  const viaAdmin: number[] = [];
  for (let e = 0; e < EDITS; e++) {
    const v = `admin-${e}`;
    const t = performance.now();
    const r = await http(big.admin, 'PUT', `/1.0/instances/${name(42)}/config/user.role`, v, {
      'Content-Type': 'text/plain',
    });
    if (r.status !== 200) throw new Error(`admin PUT answered ${r.status}: ${r.text}`);
    viaAdmin.push(await visible(big.guest, v, t));
  }
  const viaFile: number[] = [];
  for (let e = 0; e < Math.min(EDITS, 5); e++) {
    const v = `file-${e}`;
    const f = join(inv, `${name(42)}.yaml`);
    writeFileSync(`${f}.tmp`, instanceYaml(42, v));
    const t = performance.now();
    renameSync(`${f}.tmp`, f);
    viaFile.push(await visible(big.guest, v, t));
  }
  console.log(
    `edit -> guest sees it: admin API p50 ${f1(q(viaAdmin, 0.5))} ms, p99 ${f1(q(viaAdmin, 0.99))} ms (${EDITS} edits); ` +
      `file rewrite p50 ${f1(q(viaFile, 0.5))} ms (inventory.settle 1000 ms included)`,
  );
  console.log(`RSS after the edits: ${f1(mem(big.gw.pid!).rss)} MiB`);
} finally {
  for (const c of children) c.kill('SIGKILL');
  rmSync(work, { recursive: true, force: true });
}
