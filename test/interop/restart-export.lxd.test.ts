// Issue 10, finding 8: a restart never cuts a pull, checked with the real client. LXD 5.0.2's Go
// client (Debian's lxd-client, installed in the container from the host's cached .deb) runs `lxc image
// export` of a 64 MiB image through guestgate's /dev/lxd/sock while guestgate restarts: by `guestgate
// restart` (the handover through the admin API; a cold fill in flight) and by SIGTERM under a
// systemd-style socket holder (systemd-socket-activate keeps the sockets, a shell loop starts the next
// process on them as Restart=always does; a warm export in flight). The old process must drain the
// export (its log says so), the client must never fall back to the host (the recording proxy in front
// of LXD sees no export: a fallback would write the host's bytes from the current offset, LXD 5.0.2's
// bug), and the exported file's sha256 must be the fingerprint.
import { spawn, type ChildProcess } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import yaml from 'js-yaml';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { unifiedImage } from '../../fixtures/images/make.ts';
import { BIN, cli, http, waitHealthy } from '../helpers/service.ts';
import { waitFor } from '../helpers/wait.ts';
import { DEBS_DIR } from './cloud-init-25.ts';
import { type Container, launchContainer, lxc } from './lxd-harness.ts';
import { GUEST_DIALECT, LXD_SOCKET, requireLxd } from './lxd-gateway.ts';
import { type RecordingProxy, startRecordingProxy } from './recording-proxy.ts';

const NAME = 'ggho-restart';
const ALIAS = 'ggho-restart-img';
const dir = mkdtempSync(join(tmpdir(), 'ggho-restart-'));
chmodSync(dir, 0o755);
const configFile = join(dir, 'guestgate.yaml');
const adminSock = join(dir, 'run', 'admin.sock');
const guestDir = join(dir, 'run', 'devlxd');
let fp = '';
let c: Container | undefined;
let proxy: RecordingProxy | undefined;
const procs: ChildProcess[] = [];
let log = '';
const ACTIVATE = '/usr/bin/systemd-socket-activate';
/** Set while the socket holder of the SIGTERM test runs: the file that ends its restart loop. */
let holderStop: string | undefined;

function start(argv: string[]): ChildProcess {
  const p = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'ignore', 'pipe'] });
  p.stderr!.on('data', (b: Buffer) => (log += b));
  procs.push(p);
  return p;
}

const lockHolder = (): number | undefined => {
  try {
    return (JSON.parse(readFileSync(join(dir, 'state', 'images', 'lock'), 'utf8')) as { pid: number }).pid;
  } catch {
    return undefined;
  }
};

beforeAll(async () => {
  await requireLxd();
  const img = await unifiedImage(64 * 1024 * 1024, 'none');
  fp = img.fingerprint;
  const file = join(dir, 'img.tar');
  writeFileSync(file, img.files[0]!);
  await lxc(['image', 'delete', ALIAS]).catch(() => {});
  await lxc(['image', 'import', file, '--alias', ALIAS, '--public'], { timeoutMs: 180_000 });
  rmSync(file);
  proxy = await startRecordingProxy(LXD_SOCKET);
  writeFileSync(
    configFile,
    yaml.dump({
      runtime_dir: join(dir, 'run'),
      state_dir: join(dir, 'state'),
      guest: GUEST_DIALECT,
      inventory: { source: 'lxd', socket: LXD_SOCKET },
      images: { cache_dir: join(dir, 'state', 'images'), upstreams: [{ type: 'lxd', socket: LXD_SOCKET }] },
      log: { level: 'info' },
    }),
  );
  // The guest socket folder exists (0755) before the container bind-mounts it.
  start([process.execPath, BIN, 'serve', '--config', configFile]);
  await waitHealthy(adminSock);
  chmodSync(join(dir, 'run'), 0o755);
  c = await launchContainer(NAME, {
    replace: true,
    guestSocketDir: guestDir,
    config: { 'security.devlxd.images': 'true' },
  });
  await c.addDevice('hostlxd', { type: 'disk', source: proxy.dir, path: '/mnt/hostlxd' });
  const deb = readFileSync(join(DEBS_DIR, 'lxd-client_5.0.2-5+deb12u6_amd64.deb'));
  await c.exec(['sh', '-c', 'cat > /root/lxd-client.deb'], { input: deb });
  const inst = await c.exec([
    'sh',
    '-c',
    'dpkg -i /root/lxd-client.deb && mkdir -p /root/.config/lxc && lxc remote add host unix:///mnt/hostlxd/sock',
  ]);
  if (inst.code !== 0) throw new Error(`lxd-client in ${NAME}: ${inst.stdout}${inst.stderr}`);
  // A hard CPU cap (a percentage is only a share, enforced under contention): a slow reader, so that
  // the restart lands while the export is in flight.
  await c.setConfig('limits.cpu.allowance', '5ms/100ms');
}, 600_000);

afterAll(async () => {
  await c?.delete();
  if (holderStop) writeFileSync(holderStop, '');
  for (const p of procs) p.kill('SIGTERM');
  const holder = lockHolder();
  if (holder && existsSync(`/proc/${holder}`)) process.kill(holder, 'SIGTERM');
  await proxy?.close();
  await lxc(['image', 'delete', ALIAS]).catch(() => {});
  rmSync(dir, { recursive: true, force: true });
});

/** Host pid of the container's `lxc image export` client writing into `out` (its argv, from the host). */
function exportClient(out: string): number | undefined {
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    let argv: string[];
    try {
      argv = readFileSync(`/proc/${d}/cmdline`, 'utf8').split('\0');
    } catch {
      continue; // exited meanwhile
    }
    if (argv[0]?.endsWith('lxc') && argv[1] === 'image' && argv[2] === 'export' && argv[4] === `${out}/`)
      return Number(d);
  }
  return undefined;
}

/** Bytes the client has written into `out`, seen through its own root (no exec into the container). */
function bytesIn(pid: number, out: string): number {
  try {
    const at = `/proc/${pid}/root${out}`;
    return readdirSync(at).reduce((n, f) => n + statSync(join(at, f)).size, 0);
  } catch {
    return 0;
  }
}

let n = 0;
/**
 * `lxc image export host:<fp>` in the container. Once its file has bytes the client is paused (SIGSTOP,
 * from the host), so the export is surely in flight whatever the machine's load; `restart` runs; the client
 * goes on (SIGCONT) once the old process says it is draining.
 */
async function exportDuring(restart: () => Promise<void>): Promise<void> {
  const out = `/root/out${++n}`;
  const before = proxy!.requests.length;
  const logBefore = log.length;
  const exporting = c!.exec(['sh', '-c', `mkdir -p ${out} && lxc image export host:${fp} ${out}/`], {
    timeoutMs: 300_000,
  });
  let done = false;
  void exporting.finally(() => (done = true));
  let client: number | undefined;
  await waitFor(
    'the export client to write its first bytes',
    () => {
      client ??= exportClient(out);
      return done || (client !== undefined && bytesIn(client, out) > 0);
    },
    { ms: 120_000, every: 5 },
  );
  expect(done, 'the export ended before it could be paused').toBe(false);
  process.kill(client!, 'SIGSTOP');
  const restarting = restart();
  try {
    await waitFor(
      'the old process to say it drains the export in flight',
      () => log.slice(logBefore).includes('draining: waiting for exports in flight'),
      { ms: 300_000 },
    );
  } finally {
    process.kill(client!, 'SIGCONT');
  }
  await restarting;
  const r = await exporting;
  expect(r.code, `lxc image export: ${r.stdout}${r.stderr}`).toBe(0);
  const sum = await c!.exec(['sh', '-c', `cat ${out}/* | sha256sum`]);
  expect(sum.stdout.split(' ')[0], 'the exported file is the image').toBe(fp);
  expect(
    proxy!.requests.slice(before).filter((l) => l.includes('/export')),
    'the client fell back to the host',
  ).toEqual([]);
}

it('`guestgate restart` during `lxc image export`: drained by the old process, the file is the image', async () => {
  const old = lockHolder();
  await exportDuring(async () => {
    const r = await cli(['restart', '--wait', '5m', '--config', configFile]);
    expect(r.code, r.stderr).toBe(0);
  });
  await waitFor('the new process to take the cache lock', () => (lockHolder() ?? old) !== old, { ms: 60_000 });
  expect((await http(adminSock, 'GET', '/healthz')).status).toBe(200);
}, 600_000);

it('SIGTERM under a socket holder (systemd Restart=always): the old process drains, the next serves on the same sockets', async () => {
  expect(existsSync(ACTIVATE), 'systemd-socket-activate is needed (apt-get install systemd)').toBe(true);
  // Stop the gateway the first test left running; the holder binds the socket paths anew.
  const running = lockHolder();
  if (running && existsSync(`/proc/${running}`)) {
    process.kill(running, 'SIGTERM');
    await waitFor(`pid ${running} to exit`, () => !existsSync(`/proc/${running}`), { ms: 120_000 });
  }
  rmSync(join(guestDir, 'sock'), { force: true });
  rmSync(adminSock, { force: true });
  // The holder keeps both listening sockets (LISTEN_FDS) and starts guestgate again whenever it
  // exits, as systemd does for a .socket unit with a Restart=always service.
  const stop = join(dir, 'holder-stop');
  start([
    ACTIVATE,
    '-l',
    join(guestDir, 'sock'),
    '-l',
    adminSock,
    '--fdname=guest:admin',
    '/bin/sh',
    '-c',
    `while [ ! -e ${stop} ]; do sh -c 'export LISTEN_PID=$$; exec "$0" "$@"' ${process.execPath} ${BIN} serve --config ${configFile}; done`,
  ]);
  holderStop = stop;
  // SocketMode=0666 of a .socket unit (systemd-socket-activate has no such option): guests of other
  // uids connect only with write permission on the socket.
  await waitFor('the holder to listen', () => existsSync(join(guestDir, 'sock')));
  chmodSync(join(guestDir, 'sock'), 0o666);
  await waitHealthy(adminSock, 120_000); // the first connection makes the holder start guestgate
  await waitFor(
    'the activated process to hold the cache lock',
    () => {
      const pid = lockHolder();
      return pid !== undefined && pid !== running && existsSync(`/proc/${pid}`);
    },
    { ms: 120_000 },
  );
  const first = lockHolder()!;
  const probe = await c!.exec(['curl', '-s', '-i', '--unix-socket', '/dev/lxd/sock', 'http://lxd/1.0']);
  expect(probe.stdout, 'the guest reaches the activated gateway').toMatch(/^HTTP\/1\.1 200 /);
  await exportDuring(async () => {
    process.kill(first, 'SIGTERM');
    await waitFor(`pid ${first} to drain and exit`, () => !existsSync(`/proc/${first}`), { ms: 300_000 });
  });
  await waitFor(
    'the next process to take the cache lock',
    () => {
      const pid = lockHolder();
      return pid !== undefined && pid !== first && existsSync(`/proc/${pid}`);
    },
    { ms: 120_000 },
  );
  expect((await http(adminSock, 'GET', '/healthz')).status).toBe(200);
}, 600_000);
