// bench/guest-api/identity-cost: the per-connection cost of telling callers apart, measured in one
// process on the same connections: the pidfd path (what guestgate does now: SO_PEERPIDFD,
// PIDFD_GET_PID_NAMESPACE, /proc/<pid>/cgroup, PIDFD_GET_INFO, cgroup stat) next to the old
// /proc-by-pid reads (SO_PEERCRED pid -> /proc/<pid>/ns/pid, /proc/<pid>/cgroup), which were racy.
//   node bench/guest-api/identity-cost.ts [--connections 2000] [--rounds 5]
// Needs root (the clients run in a pid namespace). Prints figures; asserts nothing.
import { createServer, type Socket } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { readPeerFacts } from '../../src/identity/facts.ts';
import { mechanism } from '../../src/identity/mechanism.ts';
import { peerCredentials, socketFd } from '../../src/identity/peercred.ts';
import { cgroupPaths, nsInode } from '../../src/identity/procfs.ts';
import { createNamespace } from '../../test/helpers/namespaces.ts';

const { values } = parseArgs({
  options: { connections: { type: 'string', default: '2000' }, rounds: { type: 'string', default: '5' } },
});
const N = Number(values.connections);
const ROUNDS = Number(values.rounds);
if (process.getuid?.() !== 0) {
  console.error('bench/guest-api/identity-cost needs root (clients in a pid namespace)');
  process.exit(1);
}

const dir = mkdtempSync(join(tmpdir(), 'gg-idcost-'));
const path = join(dir, 's.sock');
const sockets: Socket[] = [];
const srv = createServer({ pauseOnConnect: true }, (s) => sockets.push(s));
await new Promise<void>((r) => srv.listen(path, r));
const ns = await createNamespace();
// One client process holding N connections open (each accepted socket has a live peer).
const client = ns.spawn([
  '/usr/bin/python3',
  '-c',
  `import socket,sys,time\nss=[]\nfor i in range(${N}):\n  s=socket.socket(socket.AF_UNIX);s.connect(${JSON.stringify(path)});ss.append(s)\nprint("ok",flush=True)\nsys.stdin.read()`,
]);
await new Promise<void>((r) => client.stdout!.once('data', () => r()));
while (sockets.length < N) await new Promise((r) => setTimeout(r, 10));

const pidfdPath = (s: Socket): unknown => {
  const fd = socketFd(s)!;
  return readPeerFacts(fd, peerCredentials(fd)!);
};
const procfsPath = (s: Socket): unknown => {
  const cred = peerCredentials(socketFd(s)!)!;
  return { pidns: nsInode(cred.pid, 'pid'), cgroups: cgroupPaths(cred.pid) };
};
const time = (fn: (s: Socket) => unknown): number[] => {
  const per: number[] = [];
  for (const s of sockets) {
    const t0 = process.hrtime.bigint();
    fn(s);
    per.push(Number(process.hrtime.bigint() - t0) / 1000);
  }
  return per.sort((a, b) => a - b);
};
const q = (xs: number[], p: number): number => xs[Math.min(xs.length - 1, Math.floor(xs.length * p))]!;
const med = (xs: number[]): number => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const res = {
  pidfd: { p50: [] as number[], p99: [] as number[] },
  procfs: { p50: [] as number[], p99: [] as number[] },
};
for (let r = 0; r < ROUNDS; r++)
  for (const [k, fn] of [
    ['procfs', procfsPath],
    ['pidfd', pidfdPath],
  ] as const) {
    const t = time(fn);
    res[k].p50.push(q(t, 0.5));
    res[k].p99.push(q(t, 0.99));
  }
console.log(
  `identity per connection (mechanism ${mechanism().name}; ${N} live connections from a pid namespace; median of ${ROUNDS} interleaved rounds)`,
);
for (const k of ['procfs', 'pidfd'] as const)
  console.log(
    `${k === 'pidfd' ? 'pidfd path (now)        ' : '/proc by pid (before)   '}  p50 ${med(res[k].p50).toFixed(1).padStart(6)} us   p99 ${med(res[k].p99).toFixed(1).padStart(6)} us   => ${(1e6 / med(res[k].p50)).toFixed(0)} conn/s on one core`,
  );
client.kill('SIGKILL');
for (const s of sockets) s.destroy();
srv.close();
await ns.close();
rmSync(dir, { recursive: true, force: true });
