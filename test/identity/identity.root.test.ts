// Who is calling, on ONE shared socket, from real processes in real pid namespaces and cgroups.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type TestGateway } from '../helpers/gateway.ts';
import { createNamespace, curlIn, parseHttp, removeCgroupTree, type TestNamespace } from '../helpers/namespaces.ts';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

let gw: TestGateway;
let a: TestNamespace;
let b: TestNamespace;
let c1: TestNamespace;
let c10: TestNamespace;
let stray: TestNamespace;
const run = `/gg-it-${process.pid}`;

beforeAll(async () => {
  [a, b, c1, c10, stray] = await Promise.all([
    createNamespace(),
    createNamespace(),
    createNamespace({ cgroup: `${run}/lxc.payload.c1` }),
    createNamespace({ cgroup: `${run}/lxc.payload.c10` }),
    createNamespace({ cgroup: `${run}/lxc.payload.c1x` }),
  ]);
  gw = await startGateway({
    instances: [
      {
        name: 'alpha',
        config: { 'user.secret': 'alpha-secret', 'cloud-init.user-data': '#cloud-config\n' },
        identity: { init_pid: a.initPid },
      },
      {
        name: 'beta',
        config: { 'user.secret': 'beta-secret', 'security.devlxd': 'false' },
        identity: { pidns_file: `/proc/${b.initPid}/ns/pid`, root_uid: 0 },
      },
      {
        name: 'c1',
        config: { 'user.secret': 'c1-secret' },
        identity: { cgroup: `${run}/lxc.payload.c1`, root_uid: 0 },
      },
      {
        name: 'c10',
        config: { 'user.secret': 'c10-secret' },
        identity: { cgroup: `${run}/lxc.payload.c10`, root_uid: 0 },
      },
    ],
  });
});

afterAll(async () => {
  await gw?.close();
  await Promise.all([a, b, c1, c10, stray].map((n) => n?.close()));
  const { CGROUP2_ROOT } = await import('../helpers/requirements.ts');
  await removeCgroupTree(`${CGROUP2_ROOT}${run}`);
});

describe('identity on one shared socket', () => {
  it('each instance reads only its own config (pid namespace)', async () => {
    const r = await curlIn(a, gw.socket, '/1.0/config/user.secret');
    expect(r.status).toBe(200);
    expect(r.body).toBe('alpha-secret');
    expect(JSON.parse((await curlIn(a, gw.socket, '/1.0/config')).body)).toEqual([
      '/1.0/config/cloud-init.user-data',
      '/1.0/config/user.secret',
    ]);
  });

  it('cgroup identity matches whole path segments: c1 never answers for c10, nor c1x', async () => {
    expect((await curlIn(c1, gw.socket, '/1.0/config/user.secret')).body).toBe('c1-secret');
    expect((await curlIn(c10, gw.socket, '/1.0/config/user.secret')).body).toBe('c10-secret');
    const s = await curlIn(stray, gw.socket, '/1.0/config/user.secret');
    expect(s.status).toBe(500);
    expect(s.body).toBe('Process ID not found in container\n');
  });

  it('a process in a nested cgroup below the instance is still the instance', async () => {
    const { CGROUP2_ROOT } = await import('../helpers/requirements.ts');
    const inner = `${CGROUP2_ROOT}${run}/lxc.payload.c1/inner`;
    const r = await c1.exec([
      'sh',
      '-c',
      `mkdir -p ${inner} && echo $$ > ${inner}/cgroup.procs && grep -q '/lxc.payload.c1/inner$' /proc/self/cgroup && exec curl -s --unix-socket ${gw.socket} http://lxd/1.0/config/user.secret`,
    ]);
    expect(r.stdout).toBe('c1-secret');
  });

  it("a process renamed to look like another instance's monitor is still itself (CVE-2025-54288)", async () => {
    // exec -a sets argv[0]; LXD <= 5.0.9 trusted /proc/<pid>/cmdline. We never read it.
    const r = await a.exec([
      'bash',
      '-c',
      `exec -a "[lxc monitor] /var/lib/lxd/containers beta" curl -s --unix-socket ${gw.socket} http://lxd/1.0/config/user.secret`,
    ]);
    expect(r.stdout).toBe('alpha-secret');
  });

  it('non-root in the instance gets 401', async () => {
    const r = await curlIn(a, gw.socket, '/1.0/config/user.secret', { uid: 1000 });
    expect(r.status).toBe(401);
    expect(r.body).toBe('Access denied for non-root user\n');
  });

  it('a host process (in no instance) is refused with 500 "not in container"', async () => {
    // async: the gateway runs in this process, a sync exec would block its event loop.
    const { stdout } = await promisify(execFile)('curl', [
      '-s',
      '-i',
      '--unix-socket',
      gw.socket,
      'http://lxd/1.0/config/user.secret',
    ]);
    const r = parseHttp(stdout);
    expect(r.status).toBe(500);
    expect(r.body).toBe('Process ID not found in container\n');
  });

  it('security.devlxd=false refuses with 403', async () => {
    for (const path of ['/1.0', '/1.0/config', '/1.0/config/user.secret', '/1.0/meta-data', '/1.0/devices']) {
      const r = await curlIn(b, gw.socket, path);
      expect([path, r.status, r.body]).toEqual([path, 403, 'Forbidden\n']);
    }
  });

  it('keys outside user.* and cloud-init.* are 403 even when they exist; missing keys 404', async () => {
    expect((await curlIn(b, gw.socket, '/1.0/config/security.devlxd')).status).toBe(403);
    const r = await curlIn(a, gw.socket, '/1.0/config/user.missing');
    expect([r.status, r.body]).toEqual([404, 'Not Found\n']);
  });

  it('hot reload: editing an instance file changes answers at once', async () => {
    gw.writeInstance({ name: 'alpha', config: { 'user.secret': 'rotated' }, identity: { init_pid: a.initPid } });
    await gw.until(() => gw.service.inventory.get('alpha')?.config['user.secret'] === 'rotated');
    expect((await curlIn(a, gw.socket, '/1.0/config/user.secret')).body).toBe('rotated');
  });

  it('unprivileged instance (user namespace): its root is host uid 100000 and may read; its uid 1000 may not', async () => {
    const u = await createNamespace({ userns: { hostBase: 100000, count: 65536 } });
    try {
      gw.writeInstance({
        name: 'unpriv',
        config: { 'user.secret': 'unpriv-secret' },
        identity: { init_pid: u.initPid },
      });
      await gw.until(() => gw.service.inventory.get('unpriv') !== undefined);
      const root = await curlIn(u, gw.socket, '/1.0/config/user.secret');
      expect([root.status, root.body]).toEqual([200, 'unpriv-secret']);
      const user = await curlIn(u, gw.socket, '/1.0/config/user.secret', { uid: 1000 });
      expect([user.status, user.body]).toEqual([401, 'Access denied for non-root user\n']);
      // Host root entering the instance's pid namespace WITHOUT its user namespace is not the instance root.
      const hostRoot = parseHttp(
        (
          await promisify(execFile)('nsenter', [
            '-t',
            String(u.initPid),
            '-p',
            '--',
            'curl',
            '-s',
            '-i',
            '--unix-socket',
            gw.socket,
            'http://lxd/1.0/config/user.secret',
          ])
        ).stdout,
      );
      expect(hostRoot.status).toBe(401);
    } finally {
      gw.removeInstance('unpriv');
      await u.close();
    }
  });

  it('socket file is 0666 in its own folder', async () => {
    const { statSync } = await import('node:fs');
    expect(statSync(gw.socket).mode & 0o777).toBe(0o666);
  });
});
