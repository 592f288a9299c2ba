// Abuse benchmark: prints figures, asserts nothing. Needs root (two real pid namespaces).
//   node bench/abuse/run.ts [--seconds 5] [--idle 20000] [--slowloris 400] [--listeners 64] [--flood 1000]
//                           [--changes 150] [--uxload <uxload.c or a built binary>] [--rate <limits.rate>]
// The real gateway (bin/guestgate.js serve) fronts two instances, each a process tree in its own pid
// namespace: `abuser` runs one abuse at a time (bench/abuse/abuser.mjs), while `honest` measures
// GET /1.0/config/user.key back to back for --seconds (uxload, a native client, when given; else
// bench/abuse/honest.mjs): p50/p99, errors, and the gateway's RSS, first with no abuse, then during
// each abuse (RSS at the end of the row and its peak, sampled every 50 ms). The listener storm also
// changes a 512 KiB user.* value of the abuser --changes times (issue 10 finding 2: 20-100
// non-reading listeners and 150 such changes grew RSS by 200-300 MB).
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync, chmodSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createNamespace } from '../../test/helpers/namespaces.ts';
import { http, json, waitHealthy } from '../../test/helpers/service.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const args = process.argv.slice(2);
const arg = (name: string, def: string): string => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? args[i + 1]! : def;
};
const SECONDS = Number(arg('seconds', '5'));
const dir = mkdtempSync(join(tmpdir(), 'ggl-abuse-'));
chmodSync(dir, 0o755);

function uxload(): string | undefined {
  const given = arg('uxload', process.env.GUESTGATE_UXLOAD ?? '');
  if (!given) return undefined;
  if (!given.endsWith('.c')) return given;
  const bin = join(dir, 'uxload');
  execFileSync('gcc', ['-O2', '-static', '-pthread', '-o', bin, given]);
  return bin;
}

const rssMb = (pid: number): number =>
  Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;

async function main(): Promise<void> {
  const abuser = await createNamespace();
  const honest = await createNamespace();
  const ux = uxload();
  const inv = join(dir, 'inventory');
  mkdirSync(inv);
  for (const [name, ns] of [
    ['abuser', abuser],
    ['honest', honest],
  ] as const)
    writeFileSync(
      join(inv, `${name}.yaml`),
      `name: ${name}\nconfig:\n  user.key: ${name}-value\nidentity:\n  init_pid: ${ns.initPid}\n`,
    );
  const rate = arg('rate', '0');
  writeFileSync(
    join(dir, 'guestgate.yaml'),
    `runtime_dir: ./run\nstate_dir: ./state\ninventory:\n  source: dir\n  dir: ./inventory\nlog:\n  level: warn\nlimits:\n  rate: ${rate}\n`,
  );
  const gw = spawn(process.execPath, [join(ROOT, 'bin/guestgate.js'), 'serve', '-c', join(dir, 'guestgate.yaml')], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let gwLog = '';
  gw.stderr!.on('data', (d) => (gwLog += d));
  const adminSock = join(dir, 'run', 'admin.sock');
  const sock = join(dir, 'run', 'devlxd', 'sock');
  await waitHealthy(adminSock);
  const baseRss = rssMb(gw.pid!);

  const measure = async (): Promise<string> => {
    const argv = ux
      ? [ux, sock, '/1.0/config/user.key', '1', String(SECONDS)]
      : [process.execPath, join(import.meta.dirname, 'honest.mjs'), sock, '/1.0/config/user.key', String(SECONDS)];
    const r = await honest.exec(argv, { timeoutMs: (SECONDS + 60) * 1000 });
    return r.stdout.trim() || `failed: ${r.stderr.trim()}`;
  };
  /** What the RSS holds, from the gateway's own metrics: V8 heap (used/total) and buffers outside it. */
  const heap = async (): Promise<string> => {
    const t = (await http(adminSock, 'GET', '/metrics')).text;
    const mb = (name: string): string =>
      (Number(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(t)?.[1] ?? Number.NaN) / 2 ** 20).toFixed(0);
    const space = (s: string): string =>
      (
        Number(
          new RegExp(`^nodejs_heap_space_size_total_bytes\\{space="${s}"\\} (\\S+)$`, 'm').exec(t)?.[1] ?? Number.NaN,
        ) /
        2 ** 20
      ).toFixed(0);
    return `heap ${mb('nodejs_heap_size_used_bytes')}/${mb('nodejs_heap_size_total_bytes')}MB (new ${space('new')} old ${space('old')} large ${space('large_object')}) external ${mb('nodejs_external_memory_bytes')}MB`;
  };
  const rows: string[][] = [];
  const row = async (name: string, abuse: ChildProcess | undefined, during?: () => Promise<void>): Promise<void> => {
    let last = '';
    if (abuse) {
      abuse.stdout!.on('data', (d: Buffer) => (last = d.toString().trim().split('\n').pop() ?? last));
      await new Promise<void>((r) => abuse.stdout!.once('data', () => r()));
    }
    let peak = rssMb(gw.pid!);
    const sampler = setInterval(() => (peak = Math.max(peak, rssMb(gw.pid!))), 50);
    const [figures] = await Promise.all([measure(), during?.()]);
    clearInterval(sampler);
    const now = rssMb(gw.pid!);
    rows.push([
      name,
      figures,
      `rss=${now.toFixed(0)}MB peak=${Math.max(peak, now).toFixed(0)}MB (start +${(Math.max(peak, now) - baseRss).toFixed(0)})`,
      await heap(),
      last ? `abuser: ${last}` : '',
    ]);
    abuse?.kill('SIGKILL');
  };
  const abuse = (mode: string, count: string): ChildProcess =>
    abuser.spawn([process.execPath, join(import.meta.dirname, 'abuser.mjs'), sock, mode, count]);

  await row('no abuse', undefined);
  await row(`idle connections x${arg('idle', '20000')}`, abuse('idle', arg('idle', '20000')));
  await row(`slowloris x${arg('slowloris', '400')}`, abuse('slowloris', arg('slowloris', '400')));
  await row(
    `non-reading listeners x${arg('listeners', '64')} + ${arg('changes', '150')} x 512 KiB changes`,
    abuse('listeners', arg('listeners', '64')),
    async () => {
      for (let i = 0; i < Number(arg('changes', '150')); i++) {
        const value = String.fromCharCode(97 + (i % 26)).repeat(512 * 1024);
        await http(adminSock, 'PUT', '/1.0/instances/abuser/config/user.big', ...json({ value }));
      }
    },
  );
  await row(`flood ${arg('flood', '1000')} req/s`, abuse('flood', arg('flood', '1000')));
  await row('no abuse (after)', undefined);

  console.log(
    `guestgate abuse bench: honest GET /1.0/config/user.key for ${SECONDS} s per row, client ${ux ? 'uxload (native)' : 'honest.mjs'}, limits.rate ${rate}`,
  );
  console.log(`gateway RSS at start: ${baseRss.toFixed(0)} MB`);
  for (const r of rows) console.log(r.filter(Boolean).join(' | '));
  const metrics = await http(adminSock, 'GET', '/metrics');
  for (const l of metrics.text.split('\n'))
    if (/^guestgate_connections_(refused|timed_out)_total|^guestgate_guest_requests_total\{.*status="429"/.test(l))
      console.log(l);
  const warn = gwLog.split('\n').filter((l) => l.includes('"level":40')).length;
  console.log(`gateway warnings logged: ${warn}`);
  gw.kill('SIGTERM');
  await new Promise((r) => gw.once('exit', r));
  await abuser.close();
  await honest.close();
  if (existsSync(dir)) rmSync(dir, { recursive: true, force: true });
}

await main();
