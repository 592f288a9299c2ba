// bench/fanout: many instances at once against the real gateway (bin/guestgate.js serve, a `dir` inventory),
// each instance a real process tree in its own pid namespace (test/helpers/namespaces.ts), so guestgate tells
// the callers apart by kernel facts exactly as in production. Prints figures; asserts nothing.
//   (a) events: --per listeners (/1.0/events?type=config, WebSocket by default) in each of --instances
//       instances (10 x 100 = 1,000), one process per instance (listen.c, built static; --listener node runs
//       listen.mjs instead, which costs the 2 cores several times more per event) stamping each arrival with
//       CLOCK_MONOTONIC, the runner's clock too. First each instance's user.fan is changed in turn through the
//       admin API (PUT /1.0/instances/<name>/config/user.fan), waiting for its listeners each time; then
//       --broadcasts rounds in which every instance is changed at once (one concurrent admin PUT each).
//       Latency runs from the admin request's start (in a broadcast: from the round's first request) to the
//       arrival in the listener. Printed beside it: the target p99 <= 100 ms, and after each round what the
//       disk alone needs for the same group commit (100 small files written, fsynced, renamed, the folder
//       fsynced: no gateway), the floor under a round on this machine at that moment.
//   (b) GET /1.0/config/user.key on --per keep-alive connections per instance (1,000): one uxload process
//       (../guest-api/uxload.c, C, built static) with --per threads = connections in each instance; each
//       connection is warmed with one request, then all processes start together and their latency
//       histograms are merged (1% buckets; never an average of percentiles). Closed loop first (back to
//       back: with 1,000 connections the mean latency is 1,000 / throughput, Little's law), then open loop at
//       --rate requests/s per connection, latency from each request's SCHEDULED send time (no coordinated
//       omission). Gateway RSS before/after (peak sampled every 50 ms), CPU of the gateway, the clients, this
//       runner and everything else. Printed beside it: the target p99 <= 10 ms (meaningful in the open loop,
//       at the offered rate printed).
// Run (root: pid namespaces; Node 24):  node_modules/.bin/node bench/fanout/run.ts    (about 30-40 s)
// Options: --instances 100 --per 10 --seconds 10 (each load run) --rate 10 (open loop, req/s per connection;
//          0: no open loop) --broadcasts 3 --events ws|stream --arrival-timeout 10 (s to wait for a change's
//          events; the rest count as not arrived) --phases events,get --uxload <uxload.c or a built binary>
//          --listener c|node
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { open, rename } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createNamespace, type TestNamespace } from '../../test/helpers/namespaces.ts';
import { http, spawnGateway, waitHealthy } from '../../test/helpers/service.ts';
import { waitFor } from '../../test/helpers/wait.ts';
import { parseUxload, type Uxload } from '../guest-api/uxload.ts';

const here = fileURLToPath(new URL('.', import.meta.url));
const { values } = parseArgs({
  options: {
    instances: { type: 'string', default: '100' },
    per: { type: 'string', default: '10' },
    seconds: { type: 'string', default: '10' },
    rate: { type: 'string', default: '10' },
    broadcasts: { type: 'string', default: '3' },
    events: { type: 'string', default: 'ws' },
    'arrival-timeout': { type: 'string', default: '10' },
    phases: { type: 'string', default: 'events,get' },
    uxload: { type: 'string', default: join(here, '../guest-api/uxload.c') },
    listener: { type: 'string', default: 'c' },
  },
});
const N = Number(values.instances);
const PER = Number(values.per);
const SECONDS = Number(values.seconds);
const RATE = Number(values.rate);
const BROADCASTS = Number(values.broadcasts);
const MODE = values.events!;
const ARRIVAL_MS = Number(values['arrival-timeout']) * 1000;
const EV_KEY = 'user.fan';
const GET_PATH = '/1.0/config/user.key';
const PHASES = new Set(values.phases!.split(','));
const LISTENER = values.listener!;
if (
  !(N >= 1 && PER >= 1 && PER <= 1024 && SECONDS > 0 && RATE >= 0) ||
  (MODE !== 'ws' && MODE !== 'stream') ||
  (LISTENER !== 'c' && LISTENER !== 'node')
)
  throw new Error('bad options (see the header of bench/fanout/run.ts)');
if (process.getuid?.() !== 0) {
  console.error('bench/fanout needs root (one pid namespace per instance).');
  process.exit(1);
}

const name = (i: number): string => `fan-${String(i).padStart(3, '0')}`;
const ms = (ns: bigint): number => Number(ns) / 1e6;
const q = (sorted: readonly number[], p: number): number =>
  sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? Number.NaN;
const f1 = (x: number): string => x.toFixed(1);
const rssMiB = (pid: number): number =>
  Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;
const TICK = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
/** CPU seconds a process has used (user + system). */
const cpuOf = (pid: number): number => {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(f[11]) + Number(f[12])) / TICK;
};
/** Machine-wide jiffies: all and idle (idle + iowait). */
const machine = (): { all: number; idle: number } => {
  // user nice system idle iowait irq softirq steal (guest and guest_nice are already in user and nice)
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1, 9).map(Number);
  return { all: f.reduce((a, b) => a + b, 0), idle: f[3]! + (f[4] ?? 0) };
};
/**
 * CPU use from now until the returned function is called, in % of one core: the gateway, `clients` (CPU
 * seconds they report), this runner, everything else on the machine (other processes), and what was idle.
 */
function cpuWindow(gwPid: number): (clients?: { label: string; seconds: number }) => { wall: number; text: string } {
  const gw0 = cpuOf(gwPid);
  const me0 = process.cpuUsage();
  const m0 = machine();
  const w0 = performance.now();
  return (clients) => {
    const wall = (performance.now() - w0) / 1000;
    const gw = cpuOf(gwPid) - gw0;
    const me = process.cpuUsage(me0);
    const m1 = machine();
    const runner = (me.user + me.system) / 1e6;
    const cores = cpus().length;
    const busy = (1 - (m1.idle - m0.idle) / (m1.all - m0.all)) * cores * wall;
    const pct = (sec: number): string => `${Math.round((sec / wall) * 100)}%`;
    const cl = clients?.seconds ?? 0;
    return {
      wall,
      text:
        `CPU over ${f1(wall)} s, in % of one core: gateway ${pct(gw)}, ` +
        (clients ? `${clients.label} ${pct(cl)}, ` : '') +
        `this runner ${pct(runner)}, everything else on the machine ${pct(Math.max(0, busy - gw - cl - runner))}, ` +
        `idle ${pct(cores * wall - busy)} of ${cores * 100}%`,
    };
  };
}
const target = (p99: number, limit: number): string => `target p99 <= ${limit} ms: ${p99 <= limit ? 'met' : 'NOT met'}`;

async function pool<T>(items: T[], width: number, f: (t: T) => Promise<void>): Promise<void> {
  const queue = [...items];
  await Promise.all(
    Array.from({ length: width }, async () => {
      for (let t = queue.shift(); t !== undefined; t = queue.shift()) await f(t);
    }),
  );
}

/** Lines of a child's stream, one callback each. */
function lines(stream: NodeJS.ReadableStream, each: (line: string) => void): void {
  let pending = '';
  stream.on('data', (b: Buffer) => {
    pending += b.toString('utf8');
    for (let i = pending.indexOf('\n'); i >= 0; i = pending.indexOf('\n')) {
      each(pending.slice(0, i));
      pending = pending.slice(i + 1);
    }
  });
}

const exited = (p: ChildProcess): Promise<void> =>
  p.exitCode !== null || p.signalCode !== null ? Promise.resolve() : new Promise((r) => p.once('exit', () => r()));
/** `done` turns true once the child has exited AND its stdout/stderr are read to the end (its 'close'). */
const closed = (p: ChildProcess): { done: boolean } => {
  const c = { done: false };
  p.once('close', () => (c.done = true));
  return c;
};

// Everything started is recorded here first, so cleanup finds it even after a failure or ^C.
const dir = mkdtempSync(join(tmpdir(), 'gg-bench-fanout-'));
chmodSync(dir, 0o755);
const namespaces: TestNamespace[] = [];
const children: ChildProcess[] = [];
let cleaned: Promise<void> | undefined;
const cleanup = (): Promise<void> =>
  (cleaned ??= (async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    // Closing a namespace kills its init, and with it every process left inside.
    await pool([...namespaces], 20, (ns) => ns.close());
    rmSync(dir, { recursive: true, force: true });
  })());
let aborting = false;
/** Clean up and exit; what is still in flight fails as its processes go, and nothing of that may stop it. */
const abort = (why: unknown, code: number): void => {
  if (aborting) return;
  aborting = true;
  console.error(why);
  void cleanup().finally(() => process.exit(code));
};
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => abort(`\n${sig}: cleaning up`, 130));
process.on('uncaughtException', (e) => abort(e, 1));
process.on('unhandledRejection', (e) => abort(e, 1));

/** One sample of the gateway's metrics: the sum of every series whose name-and-labels start with `series`. */
/**
 * What the disk alone needs for one group commit of `n` small files in the inventory's filesystem, the
 * floor under a broadcast round (whose durable writes are the same kind): each file written, fsynced and
 * renamed into place side by side, then the folder fsynced. Milliseconds.
 */
async function diskFloor(n: number): Promise<number> {
  const d = join(dir, 'disk-floor');
  mkdirSync(d, { recursive: true });
  const t = performance.now();
  await Promise.all(
    Array.from({ length: n }, async (_, i) => {
      const f = join(d, `f${i}.yaml`);
      const fh = await open(`${f}.tmp`, 'w', 0o600);
      await fh.writeFile(`name: f${i}\nconfig:\n  user.fan: "${t}"\n`);
      await fh.sync();
      await fh.close();
      await rename(`${f}.tmp`, f);
    }),
  );
  const fh = await open(d, 'r');
  await fh.sync();
  await fh.close();
  return performance.now() - t;
}

async function metric(admin: string, series: string): Promise<number> {
  const t = (await http(admin, 'GET', '/metrics')).text;
  let sum = 0;
  for (const l of t.split('\n')) {
    const sp = l.lastIndexOf(' ');
    const head = l.slice(0, sp);
    if (head === series || (head.startsWith(series) && head[series.length] === '{')) sum += Number(l.slice(sp + 1));
  }
  return sum;
}

interface Merged {
  requests: number;
  errors: number;
  connectFail: number;
  warmErrors: number;
  rps: number;
  p50: number;
  p99: number;
  max: number;
  mean: number;
  clientCpu: number;
  wakeP99: number;
  wakeSamples: number;
}

/** Percentile (ms) of merged 1% log buckets: the upper edge of the bucket holding sample floor(p * n). */
function histQ(hist: Map<number, number>, p: number, maxUs: number): number {
  const n = [...hist.values()].reduce((a, b) => a + b, 0);
  if (n === 0) return Number.NaN;
  const want = Math.floor(p * n);
  let seen = 0;
  for (const b of [...hist.keys()].sort((x, y) => x - y)) {
    seen += hist.get(b)!;
    if (seen > want) return Math.min(1.01 ** (b + 1), maxUs) / 1000;
  }
  return maxUs / 1000;
}

function merge(outputs: string[]): Merged {
  const lat = new Map<number, number>();
  const wake = new Map<number, number>();
  let requests = 0;
  let errors = 0;
  let connectFail = 0;
  let warmErrors = 0;
  let maxUs = 0;
  let sumUs = 0;
  let cpu = 0;
  let el = 0;
  for (const out of outputs) {
    const [first = '', second = ''] = out.trim().split('\n');
    const u: Uxload = parseUxload(first);
    requests += u.requests;
    errors += u.errors;
    maxUs = Math.max(maxUs, u.max_us);
    const h =
      /^hist el_s=([\d.]+) cpu_s=([\d.]+) sum_us=(\d+) connect_fail=(\d+) warm_errors=(\d+) lat=(\S*) wake=(\S*)$/.exec(
        second,
      );
    if (!h) throw new Error(`uxload printed no histogram: ${out.trim().slice(0, 300)}`);
    el = Math.max(el, Number(h[1]));
    cpu += Number(h[2]);
    sumUs += Number(h[3]);
    connectFail += Number(h[4]);
    warmErrors += Number(h[5]);
    for (const [into, text] of [
      [lat, h[6]!],
      [wake, h[7]!],
    ] as const)
      for (const pair of text.split(',').filter(Boolean)) {
        const [b, c] = pair.split(':').map(Number) as [number, number];
        into.set(b, (into.get(b) ?? 0) + c);
      }
  }
  const wakeMax = 1.01 ** Math.max(0, ...wake.keys()) * 1.01;
  return {
    requests,
    errors,
    connectFail,
    warmErrors,
    rps: el > 0 ? requests / el : 0,
    p50: histQ(lat, 0.5, maxUs),
    p99: histQ(lat, 0.99, maxUs),
    max: maxUs / 1000,
    mean: requests ? sumUs / requests / 1000 : Number.NaN,
    clientCpu: cpu,
    wakeP99: histQ(wake, 0.99, wakeMax),
    wakeSamples: [...wake.values()].reduce((a, b) => a + b, 0),
  };
}

try {
  const t0 = performance.now();
  const ux = values.uxload!.endsWith('.c') ? join(dir, 'uxload') : values.uxload!;
  if (ux !== values.uxload) execFileSync('gcc', ['-O2', '-static', '-pthread', '-o', ux, values.uxload!]);
  const listenC = join(dir, 'listen');
  if (LISTENER === 'c') execFileSync('gcc', ['-O2', '-static', '-o', listenC, join(here, 'listen.c')]);
  const listenCommand = LISTENER === 'c' ? [listenC] : [process.execPath, join(here, 'listen.mjs')];
  await pool(
    Array.from({ length: N }, (_, i) => i),
    10,
    async () => {
      namespaces.push(await createNamespace());
    },
  );
  const inv = join(dir, 'inventory');
  mkdirSync(inv);
  namespaces.forEach((ns, i) => {
    writeFileSync(
      join(inv, `${name(i)}.yaml`),
      `name: ${name(i)}\nconfig:\n  user.key: value-of-${name(i)}\n  ${EV_KEY}: start\n` +
        `identity:\n  init_pid: ${ns.initPid}\n`,
    );
  });
  const configFile = join(dir, 'guestgate.yaml');
  writeFileSync(
    configFile,
    `runtime_dir: ./run\nstate_dir: ./state\ninventory:\n  source: dir\n  dir: ./inventory\nlog:\n  level: warn\n`,
  );
  const gw = spawnGateway(configFile);
  children.push(gw);
  let gwLog = '';
  gw.stderr!.on('data', (d) => (gwLog += d));
  const admin = join(dir, 'run', 'admin.sock');
  const sock = join(dir, 'run', 'devlxd', 'sock');
  await waitHealthy(admin, 60_000);
  await waitFor(`the gateway to list ${N} instances`, async () => (await metric(admin, 'guestgate_instances')) === N, {
    ms: 60_000,
  });
  const fsType = execFileSync('df', ['--output=fstype', dir]).toString().trim().split('\n').pop();
  console.log(
    `guestgate bench/fanout (node ${process.version}, ${cpus().length} cores, load average ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}; ${N} instances, each a pid namespace; inventory and state on ${fsType}; ` +
      `setup ${((performance.now() - t0) / 1000).toFixed(1)} s)`,
  );
  console.log(`gateway RSS idle: ${f1(rssMiB(gw.pid!))} MiB`);

  // (a) events ------------------------------------------------------------------------------------------
  const events = async (): Promise<void> => {
    const arrivals = new Map<string, bigint[]>();
    /** Per instance: its listeners that failed or were closed by the gateway (they hear nothing more). */
    const lost = namespaces.map(() => new Set<string>());
    let opened = 0;
    let retries = 0;
    const tOpen = performance.now();
    const listeners = namespaces.map((ns, i) => {
      const p = ns.spawn([...listenCommand, sock, String(PER), MODE, EV_KEY]);
      children.push(p);
      lines(p.stdout!, (l) => {
        const [kind, stamp, , value] = l.split(' ');
        if (kind === 'open') opened++;
        else if (kind === 'retry') retries++;
        else if (kind === 'ev') {
          const list = arrivals.get(value!) ?? [];
          list.push(BigInt(stamp!));
          arrivals.set(value!, list);
        } else {
          failures.push(`${name(i)}: ${l}`);
          lost[i]!.add(stamp ?? '');
        }
      });
      let err = '';
      p.stderr!.on('data', (d) => (err += d));
      p.once('exit', (code) => {
        if (code === 0 || code === null) return;
        failures.push(`${name(i)}: listener exited ${code}: ${err.trim()}`);
        for (let k = 0; k < PER; k++) lost[i]!.add(String(k));
      });
      return p;
    });
    await waitFor(
      `${total} listeners open`,
      () => {
        if (failures.length) throw new Error(`listeners failed: ${failures.slice(0, 5).join('; ')}`);
        return opened === total;
      },
      { ms: 180_000 },
    );
    await waitFor(
      `the gateway to count ${total} listeners`,
      async () => (await metric(admin, 'guestgate_guest_event_listeners')) === total,
      { ms: 30_000 },
    );
    console.log(
      `\n(a) events: ${total} listeners (${MODE}, /1.0/events?type=config) connected in ${f1(
        (performance.now() - tOpen) / 1000,
      )} s by ${N} listener processes (${LISTENER === 'c' ? 'listen.c' : 'node listen.mjs'}, ${PER} connections each); gateway RSS ${f1(rssMiB(gw.pid!))} MiB` +
        `\n  connects retried after EAGAIN (the guest socket's listen backlog full): ${retries}`,
    );

    /** Wait (up to ARRIVAL_MS after `since`) until every listener of each value has it; latencies (ms) from `from(value)`. */
    const collect = async (vals: string[], from: (v: string) => bigint, since: number): Promise<number[]> => {
      try {
        // value `<round>-<instance index>`: every listener of that instance still connected has it
        const want = (v: string): number => PER - lost[Number(v.slice(v.lastIndexOf('-') + 1))]!.size;
        await waitFor('events', () => vals.every((v) => (arrivals.get(v)?.length ?? 0) >= want(v)), {
          ms: Math.max(0, since + ARRIVAL_MS - performance.now()),
          every: 2,
        });
      } catch {
        // counted as not arrived
      }
      return vals.flatMap((v) => (arrivals.get(v) ?? []).map((t) => ms(t - from(v)))).sort((a, b) => a - b);
    };
    const put = async (i: number, v: string): Promise<bigint> => {
      const r = await http(admin, 'PUT', `/1.0/instances/${name(i)}/config/${EV_KEY}`, v, {
        'Content-Type': 'text/plain',
      });
      if (r.status !== 200) throw new Error(`admin PUT ${name(i)} answered ${r.status}: ${r.text}`);
      return process.hrtime.bigint();
    };
    const eventRow = (label: string, lat: number[], want: number, extra: string): void =>
      console.log(
        `  ${label.padEnd(26)} arrived ${String(lat.length).padStart(4)}/${want}   p50 ${f1(q(lat, 0.5))} ms   ` +
          `p99 ${f1(q(lat, 0.99))} ms   max ${f1(lat.at(-1) ?? Number.NaN)} ms   ${target(q(lat, 0.99), 100)}` +
          (extra ? `\n  ${''.padEnd(26)} ${extra}` : ''),
      );

    const window = cpuWindow(gw.pid!);
    {
      const lat: number[] = [];
      const answer: number[] = [];
      const afterAnswer: number[] = [];
      for (let i = 0; i < N; i++) {
        const v = `one-${i}`;
        const start = process.hrtime.bigint();
        const since = performance.now();
        const answered = await put(i, v);
        answer.push(ms(answered - start));
        const got = await collect([v], () => start, since);
        lat.push(...got);
        for (const t of arrivals.get(v) ?? []) afterAnswer.push(ms(t - answered));
      }
      lat.sort((a, b) => a - b);
      answer.sort((a, b) => a - b);
      afterAnswer.sort((a, b) => a - b);
      eventRow(
        `one instance at a time`,
        lat,
        total,
        `${N} changes, one after another, each waited for; admin PUT answered p50 ${f1(q(answer, 0.5))} / p99 ${f1(
          q(answer, 0.99),
        )} ms; arrival after the answer p50 ${f1(q(afterAnswer, 0.5))} ms (negative: before it)`,
      );
    }
    const all: number[] = [];
    const floors: number[] = [];
    for (let r = 1; r <= BROADCASTS; r++) {
      const vals = Array.from({ length: N }, (_, i) => `b${r}-${i}`);
      const starts = new Map<string, bigint>();
      const answers: number[] = [];
      const since = performance.now();
      const round = process.hrtime.bigint();
      const puts = Promise.all(
        vals.map(async (v, i) => {
          starts.set(v, process.hrtime.bigint());
          answers.push(ms((await put(i, v)) - round));
        }),
      );
      puts.catch(() => {}); // handled below, after the arrivals: a failed PUT must not crash past the cleanup
      const lat = await collect(vals, () => round, since);
      await puts;
      answers.sort((a, b) => a - b);
      const own = vals.flatMap((v) => (arrivals.get(v) ?? []).map((t) => ms(t - starts.get(v)!)));
      own.sort((a, b) => a - b);
      const spread = Math.max(...[...starts.values()].map((t) => ms(t - round)));
      all.push(...lat);
      const floor = await diskFloor(N);
      floors.push(floor);
      eventRow(
        `broadcast round ${r}`,
        lat,
        total,
        `${N} concurrent admin PUTs issued within ${f1(spread)} ms, latency from the first; from each instance's own ` +
          `request p50 ${f1(q(own, 0.5))} / p99 ${f1(q(own, 0.99))} ms; admin answers first ${f1(answers[0]!)} / last ` +
          `${f1(answers.at(-1)!)} ms after the round's start; the disk alone, right after: ${f1(floor)} ms`,
      );
    }
    if (BROADCASTS > 1) {
      all.sort((a, b) => a - b);
      floors.sort((a, b) => a - b);
      eventRow(
        `broadcast, all ${BROADCASTS} rounds`,
        all,
        total * BROADCASTS,
        `the disk alone (${N} files written, fsynced and renamed side by side, the folder fsynced; no gateway), ` +
          `after each round: p50 ${f1(q(floors, 0.5))} / max ${f1(floors.at(-1)!)} ms`,
      );
    }
    console.log(`  ${window().text} (the ${N} listener processes are in "everything else")`);
    const delivered = await metric(admin, 'guestgate_guest_events_delivered_total');
    console.log(
      `  gateway RSS after the events ${f1(rssMiB(gw.pid!))} MiB; events delivered (gateway count) ${delivered}; ` +
        `listener failures ${failures.length}${failures.length ? `: ${failures.slice(0, 3).join('; ')}` : ''}`,
    );
    for (const p of listeners) p.stdin!.end();
    await Promise.race([Promise.all(listeners.map(exited)), new Promise((r) => setTimeout(r, 30_000))]);
    for (const p of listeners) if (p.exitCode === null) p.kill('SIGKILL');
    await waitFor(
      'the listeners to be gone',
      async () => (await metric(admin, 'guestgate_guest_event_listeners')) === 0,
      {
        ms: 30_000,
      },
    );
  };

  // (b) GET load ----------------------------------------------------------------------------------------
  /** Where a load run goes: the gateway, or the bare Node server beside it (same namespaces, same client). */
  interface Target {
    readonly label: string;
    readonly sock: string;
    readonly path: string;
    readonly pid: number;
    /** Connections the server counts at the start (the gateway's metric), or undefined. */
    conns(): Promise<number | undefined>;
  }
  const load = async (t: Target, rate: number): Promise<Merged> => {
    const argv = ['env', 'UXLOAD_WAIT=1', 'UXLOAD_HIST=1', ux, t.sock, t.path, String(PER), String(SECONDS)];
    if (rate > 0) argv.push(String(rate));
    const outs: string[] = namespaces.map(() => '');
    let ready = 0;
    const ends: { done: boolean }[] = [];
    const procs = namespaces.map((ns, i) => {
      const p = ns.spawn(argv);
      children.push(p);
      ends.push(closed(p));
      p.stdout!.on('data', (d) => (outs[i] += d));
      lines(p.stderr!, (l) => {
        if (l === 'ready') ready++;
        else failures.push(`${name(i)} uxload: ${l}`);
      });
      return p;
    });
    await waitFor(
      `${N} uxload processes connected`,
      () => {
        const dead = procs.findIndex((_, i) => ends[i]!.done);
        if (dead >= 0)
          throw new Error(
            `uxload in ${name(dead)} ended before the start (${procs[dead]!.exitCode ?? procs[dead]!.signalCode}): ` +
              `${outs[dead]} ${failures.join('; ')}`,
          );
        return ready === N;
      },
      { ms: 120_000 },
    );
    const conns = await t.conns();
    const rss0 = rssMiB(t.pid);
    let peak = rss0;
    const sampler = setInterval(() => (peak = Math.max(peak, rssMiB(t.pid))), 50);
    const window = cpuWindow(t.pid);
    for (const p of procs) p.stdin!.write('g');
    await waitFor(`${N} uxload processes to finish`, () => ends.every((e) => e.done), {
      ms: (SECONDS + 120) * 1000,
      every: 20,
    });
    clearInterval(sampler);
    const rss1 = rssMiB(t.pid);
    const bad = procs.findIndex((p) => p.exitCode !== 0);
    if (bad >= 0)
      throw new Error(
        `uxload in ${name(bad)} exited ${procs[bad]!.exitCode ?? procs[bad]!.signalCode}: ${outs[bad]} ` +
          failures.join('; '),
      );
    const m = merge(outs);
    const offered =
      rate > 0
        ? `open loop, offered ${total * rate} req/s (${rate} req/s per connection)`
        : 'closed loop (back to back)';
    console.log(
      `  ${t.label}, ${offered}: ${Math.round(m.rps)} req/s, ${m.requests} requests, errors ${m.errors} ` +
        `(+${m.warmErrors} in the warm-up, ${m.connectFail} connections lost)` +
        (conns === undefined ? '' : `; guest connections at the start ${conns}`),
    );
    console.log(
      `    latency${rate > 0 ? ' from the scheduled send' : ''}: p50 ${f1(m.p50)} ms   p99 ${f1(m.p99)} ms   max ${f1(
        m.max,
      )} ms   mean ${f1(m.mean)} ms   ${target(m.p99, 10)}` +
        (rate > 0
          ? ''
          : `\n    (Little's law: ${total} connections / ${Math.round(m.rps)} req/s = ${f1(
              (total / m.rps) * 1000,
            )} ms mean at this throughput, whatever the server)`),
    );
    const { text } = window({ label: `the ${N} uxload processes`, seconds: m.clientCpu });
    console.log(
      `    ${t.label} RSS ${f1(rss0)} -> ${f1(rss1)} MiB (peak ${f1(Math.max(peak, rss1))}); ${text.replace('gateway', t.label)}` +
        (rate > 0
          ? `\n    client lag: uxload woke p99 ${f1(m.wakeP99)} ms late for a scheduled send (${m.wakeSamples} sleeps)`
          : ''),
    );
    return m;
  };
  const getLoad = async (): Promise<void> => {
    console.log(
      `\n(b) GET ${GET_PATH}: ${total} keep-alive connections from ${N} uxload processes (one per instance, ` +
        `${PER} threads = connections each, C, static), ${SECONDS} s per run, all processes started together; ` +
        `then the same load against a bare Node http server (a 3-byte body) on a socket beside the gateway's`,
    );
    const gateway: Target = {
      label: 'gateway',
      sock,
      path: GET_PATH,
      pid: gw.pid!,
      conns: () => metric(admin, 'guestgate_connections{listener="guest"}'),
    };
    const g = [await load(gateway, 0), RATE > 0 ? await load(gateway, RATE) : undefined];
    const bareSock = join(dir, 'bare.sock');
    const bare = spawn(process.execPath, [join(here, '../guest-api/bare-server.mjs'), bareSock], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    children.push(bare);
    await new Promise<void>((res, rej) => {
      bare.stdout!.once('data', () => res());
      bare.once('exit', (code) => rej(new Error(`the bare server exited (${code})`)));
    });
    chmodSync(bareSock, 0o666);
    const reference: Target = {
      label: 'bare node',
      sock: bareSock,
      path: '/',
      pid: bare.pid!,
      conns: async () => undefined,
    };
    const r = [await load(reference, 0), RATE > 0 ? await load(reference, RATE) : undefined];
    bare.kill('SIGTERM');
    console.log(
      `  same run, gateway vs bare node: closed loop ${Math.round(g[0]!.rps)} vs ${Math.round(r[0]!.rps)} req/s ` +
        `(${Math.round((100 * g[0]!.rps) / r[0]!.rps)}%)` +
        (g[1] && r[1]
          ? `; open loop p99 ${f1(g[1].p99)} vs ${f1(r[1].p99)} ms, max ${f1(g[1].max)} vs ${f1(r[1].max)} ms`
          : ''),
    );
  };

  const failures: string[] = [];
  const total = N * PER;
  if (PHASES.has('events')) await events();
  if (PHASES.has('get')) await getLoad();
  const refused = await metric(admin, 'guestgate_connections_refused_total');
  const warns = gwLog.split('\n').filter((l) => l.includes('"level":40') || l.includes('"level":50')).length;
  console.log(
    `\ngateway warnings/errors logged: ${warns}; connections refused: ${refused}; ` +
      `whole run ${f1((performance.now() - t0) / 1000)} s`,
  );
  gw.kill('SIGTERM');
  await Promise.race([exited(gw), new Promise((r) => setTimeout(r, 10_000))]);
} finally {
  await cleanup();
}
process.exit(process.exitCode ?? 0);
