// Everything that is not an instance's root is refused, whatever it pretends to be; an instance
// whose root uid is unknown is refused too (finding 5); no descriptor leaks under load.
import { execFile } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { Writable } from 'node:stream';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type TestGateway } from '../helpers/gateway.ts';
import { createNamespace, curlIn, parseHttp, removeCgroupTree, type TestNamespace } from '../helpers/namespaces.ts';
import { CGROUP2_ROOT } from '../helpers/requirements.ts';
import { PYTHON } from './pid-reuse.ts';

const run = `/gg-ref-${process.pid}`;
const USERNS = { hostBase: 100000, count: 65536 };
const NOT_IN = [500, 'Process ID not found in container\n'];
const NON_ROOT = [401, 'Access denied for non-root user\n'];
let gw: TestGateway;
let logs = '';
let a: TestNamespace;
let cg: TestNamespace;
let noroot: TestNamespace;
const others: TestNamespace[] = [];

beforeAll(async () => {
  [a, cg, noroot] = await Promise.all([
    createNamespace({ userns: USERNS }),
    createNamespace({ cgroup: `${run}/lxc.payload.cg` }),
    createNamespace({ cgroup: `${run}/lxc.payload.noroot` }),
  ]);
  const logStream = new Writable({
    write(chunk, _e, cb) {
      logs += String(chunk);
      cb();
    },
  });
  gw = await startGateway({
    logLevel: 'info',
    logStream,
    instances: [
      { name: 'a', config: { 'user.secret': 'a-secret' }, identity: { init_pid: a.initPid } },
      {
        name: 'cg',
        config: { 'user.secret': 'cg-secret' },
        identity: { cgroup: `${run}/lxc.payload.cg`, root_uid: 0 },
      },
      // Finding 5: cgroup only, no uid map, no root_uid (like the demo's web-1 was).
      { name: 'noroot', config: { 'user.secret': 'noroot-secret' }, identity: { cgroup: `${run}/lxc.payload.noroot` } },
    ],
  });
});

afterAll(async () => {
  await gw?.close();
  await Promise.all([a, cg, noroot, ...others].map((n) => n?.close()));
  await removeCgroupTree(`${CGROUP2_ROOT}${run}`);
});

const other = async (o: Parameters<typeof createNamespace>[0] = {}): Promise<TestNamespace> => {
  const n = await createNamespace(o);
  others.push(n);
  return n;
};
const get = async (ns: TestNamespace, uid?: number) => {
  const r = await curlIn(ns, gw.socket, '/1.0/config/user.secret', { uid });
  return [r.status, r.body];
};
const hostCurl = async (argv: string[] = []) =>
  parseHttp(
    (
      await promisify(execFile)(argv[0] ?? 'curl', [
        ...argv.slice(1),
        ...(argv.length ? ['curl'] : []),
        '-s',
        '-i',
        '--unix-socket',
        gw.socket,
        'http://lxd/1.0/config/user.secret',
      ])
    ).stdout,
  );

describe('refused callers', () => {
  it('positive controls: each instance root reads its own secret', async () => {
    expect(await get(a)).toEqual([200, 'a-secret']);
    expect(await get(cg)).toEqual([200, 'cg-secret']);
  });

  it('finding 5: an instance whose root uid cannot be established answers 401 and the log names it and the key', async () => {
    expect(await get(noroot)).toEqual(NON_ROOT);
    const lines = logs.split('\n').filter((l) => l.includes('"instance":"noroot"') && l.includes('identity.root_uid'));
    expect(lines.length).toBeGreaterThan(0);
    expect(logs).not.toContain('noroot-secret');
  });

  it('a process in a fresh pid namespace, and a host process, are in no instance', async () => {
    expect(await get(await other())).toEqual(NOT_IN);
    const h = await hostCurl();
    expect([h.status, h.body]).toEqual(NOT_IN);
  });

  it('wrong uid inside the instance, and host root entering its pid namespace without its user namespace, get 401', async () => {
    expect(await get(a, 1000)).toEqual(NON_ROOT);
    expect(await get(cg, 1000)).toEqual(NON_ROOT);
    const h = await hostCurl(['nsenter', '-t', String(a.initPid), '-p', '--']);
    expect([h.status, h.body]).toEqual(NON_ROOT);
  });

  it('a process in a pid namespace nested inside an instance is not that instance', async () => {
    const r = await a.exec([
      'unshare',
      '-p',
      '-f',
      'curl',
      '-s',
      '-i',
      '--unix-socket',
      gw.socket,
      'http://lxd/1.0/config/user.secret',
    ]);
    const p = parseHttp(r.stdout);
    expect([p.status, p.body]).toEqual(NOT_IN);
  });

  it('cgroup look-alikes (longer name, shorter name, same leaf elsewhere, a parent) are refused', async () => {
    for (const path of [
      `${run}/lxc.payload.cgx`,
      `${run}/lxc.payload.c`,
      `${run}/x/lxc.payload.cg`,
      `${run}/lxc.payload.cg-evil`,
    ]) {
      const n = await other({ cgroup: path });
      expect([path, ...(await get(n))]).toEqual([path, ...NOT_IN]);
    }
  });

  it('comm and argv tricks change nothing: a stranger named like an instance stays a stranger', async () => {
    const n = await other();
    const renamed = await n.exec([
      'bash',
      '-c',
      `exec -a "[lxc monitor] /var/lib/lxd/containers a" curl -s -i --unix-socket ${gw.socket} http://lxd/1.0/config/user.secret`,
    ]);
    expect([parseHttp(renamed.stdout).status, parseHttp(renamed.stdout).body]).toEqual(NOT_IN);
    const comm = await n.exec([
      PYTHON,
      '-c',
      `import ctypes,socket;ctypes.CDLL(None).prctl(15,b"lxc monitor a");s=socket.socket(socket.AF_UNIX);s.connect(${JSON.stringify(gw.socket)});s.sendall(b"GET /1.0/config/user.secret HTTP/1.0\\r\\n\\r\\n");print(s.recv(100).decode().split("\\r\\n")[0])`,
    ]);
    expect(comm.stdout.trim()).toBe('HTTP/1.1 500 Internal Server Error');
  });
});

describe('descriptors', () => {
  const fds = (): number => readdirSync('/proc/self/fd').length;

  it('no fd leaks over 600 connections (answered, refused, and dropped at once); held fds are 2 per init', async () => {
    expect(gw.service.inventory.heldFds).toBe(2); // instance a: init pidfd + pid namespace fd
    const before = fds();
    const script = `
import socket, sys
ok = 0
for i in range(600):
    s = socket.socket(socket.AF_UNIX)
    s.connect(sys.argv[1])
    if i % 3 == 0:
        s.close(); continue
    s.sendall(b"GET /1.0/config/user.secret HTTP/1.0\\r\\n\\r\\n")
    if b" 200 " in s.recv(200): ok += 1
    s.close()
print(ok)`;
    const [inA, stranger] = await Promise.all([
      a.exec([PYTHON, '-c', script, gw.socket], { timeoutMs: 120_000 }),
      (await other()).exec([PYTHON, '-c', script, gw.socket], { timeoutMs: 120_000 }),
    ]);
    expect([inA.stdout.trim(), stranger.stdout.trim()]).toEqual(['400', '0']);
    await gw.until(() => fds() <= before, 20_000);
    console.log(`fds before ${before}, after 1,200 connections ${fds()}`);
  }, 180_000);

  it("an init's exit releases its held fds and unindexes it without any inventory change", async () => {
    const b = await createNamespace();
    gw.writeInstance({ name: 'b', config: { 'user.secret': 'b' }, identity: { init_pid: b.initPid } });
    await gw.until(() => gw.service.inventory.heldFds === 4);
    const facts = { cred: { pid: 0, uid: 0, gid: 0 }, pidns: b.pidns, cgroups: [] };
    expect(gw.service.inventory.resolve(facts)?.instance.key).toBe('b');
    await b.close();
    await gw.until(() => gw.service.inventory.heldFds === 2);
    expect(gw.service.inventory.resolve(facts)).toBeUndefined();
    expect(gw.service.inventory.get('b')).toBeDefined();
    gw.removeInstance('b');
  });
});
