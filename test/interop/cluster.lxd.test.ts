// One guestgate per member of a real 2-member LXD 5.0.2 cluster (scripts/lxd-cluster-setup.sh, both members
// on this machine, sharing its pid namespace): each gateway, on its own runtime dir, fronts the containers of
// its member. On one machine a pid from the other member is ALSO a valid local pid, so a gateway that forgot
// the location check would still answer the right data: the tests assert on the gateway's index (what the
// inventory resolves for the other member's init), and that the other member's guest, given this gateway's
// socket, is refused. Then: a move across members (`lxc move --target`), and a member daemon stopped
// (its guests keep being served from last known state, /healthz says degraded) and started again; and the
// real cloud-init 22.4.2 in a container on each member.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readCallerFacts } from '../../src/identity/facts.ts';
import { http } from '../helpers/service.ts';
import {
  memberCli,
  memberSocket,
  setupCluster,
  startMember,
  stopMember,
  teardownCluster,
  type Member,
} from './lxd-cluster.ts';
import { startLxdGateway, type LxdGateway } from './lxd-gateway.ts';
import { launchContainer, lxc, type Container } from './lxd-harness.ts';

const M1: Member = 'ggcl-m1';
const M2: Member = 'ggcl-m2';
const SOCK = '/dev/lxd/sock';
const run = promisify(execFile);

let gw1: LxdGateway | undefined;
let gw2: LxdGateway | undefined;
const cs: Record<string, Container> = {};

/** `curl` inside a container through `lxc exec` (the member's daemon must be up). */
async function guestGet(c: Container, path: string, sock = SOCK): Promise<{ status: number; body: string }> {
  const r = await c.exec(['curl', '-s', '-w', '\n%{http_code}', '--unix-socket', sock, `http://x${path}`]);
  expect(r.code, `curl in ${c.name}: ${r.stderr}`).toBe(0);
  const i = r.stdout.lastIndexOf('\n');
  return { status: Number(r.stdout.slice(i + 1)), body: r.stdout.slice(0, i) };
}

/**
 * The same from the host, entering the container's namespaces by its init pid (no daemon involved).
 * Asynchronous: the gateways run in this process, and a synchronous child would block their answers.
 */
async function guestGetByPid(pid: number, path: string): Promise<{ status: number; body: string }> {
  const { stdout } = await run(
    'nsenter',
    [
      '-t',
      String(pid),
      '-a',
      'curl',
      '-s',
      '-m',
      '30',
      '-w',
      '\n%{http_code}',
      '--unix-socket',
      SOCK,
      `http://x${path}`,
    ],
    { encoding: 'utf8', timeout: 60_000 },
  );
  const i = stdout.lastIndexOf('\n');
  return { status: Number(stdout.slice(i + 1)), body: stdout.slice(0, i) };
}

/** What the gateway's INDEX says about a host process: the instance its kernel facts resolve to. */
function resolvedBy(gw: LxdGateway, pid: number): string | undefined {
  const facts = readCallerFacts({ pid, uid: 0, gid: 0 });
  expect(facts, `facts of pid ${pid}`).toBeDefined();
  return gw.service.inventory.resolve(facts!)?.instance.key;
}

const healthz = async (gw: LxdGateway) => (await http(gw.service.admin!.path, 'GET', '/healthz')).json();

const launch = (name: string, member: Member, gw: LxdGateway | undefined) =>
  launchContainer(name, {
    replace: true,
    target: member,
    cli: memberCli(M1),
    config: { 'user.who': name, 'cloud-init.user-data': `#cloud-config\n# for ${name}\n` },
    ...(gw ? { guestSocketDir: gw.socketDir } : {}),
  });

beforeAll(async () => {
  await setupCluster();
  const [g1, g2] = await Promise.all(
    [M1, M2].map((m) => startLxdGateway({ socket: memberSocket(m), dirPrefix: `${m}-gw-` })),
  );
  [gw1, gw2] = [g1!, g2!];
  const [a1, b1, a2, d1] = await Promise.all([
    launch('ggcl-a1', M1, g1),
    launch('ggcl-b1', M1, g1),
    launch('ggcl-a2', M2, g2),
    launch('ggcl-d1', M1, undefined), // answered by LXD's own devlxd: the reference for GET /1.0
  ]);
  Object.assign(cs, { a1, b1, a2, d1 });
  for (const [gw, name] of [
    [g1!, 'ggcl-a1'],
    [g1!, 'ggcl-b1'],
    [g2!, 'ggcl-a2'],
  ] as const)
    await gw.until(() => gw.service.inventory.get(name)?.identity.initPid !== undefined, 30_000, `${name} indexed`);
  await g1!.until(() => g1!.service.inventory.get('ggcl-a2') !== undefined, 30_000, 'ggcl-a2 known to gw1');
  await g2!.until(() => g2!.service.inventory.get('ggcl-a1') !== undefined, 30_000, 'ggcl-a1 known to gw2');
}, 300_000);

afterAll(async () => {
  await Promise.allSettled([gw1?.close(), gw2?.close()]);
  await teardownCluster();
}, 300_000);

describe('one guestgate per LXD 5.0.2 cluster member', () => {
  it('each gateway learnt its member from GET /1.0 (environment.server_name)', () => {
    expect((gw1!.service.inventory.source as { member?: string }).member).toBe(M1);
    expect((gw2!.service.inventory.source as { member?: string }).member).toBe(M2);
  });

  it('each container reads only its own data; GET /1.0 says its member, byte for byte as LXD devlxd', async () => {
    for (const name of ['a1', 'b1', 'a2']) {
      const r = await guestGet(cs[name]!, '/1.0/config/user.who');
      expect(r).toEqual({ status: 200, body: `ggcl-${name}` });
    }
    const lxd = await guestGet(cs.d1!, '/1.0');
    expect(lxd.body).toBe('{"state":"","api_version":"1.0","instance_type":"container","location":"ggcl-m1"}\n');
    expect(await guestGet(cs.a1!, '/1.0')).toEqual(lxd);
    expect((await guestGet(cs.a2!, '/1.0')).body).toBe(lxd.body.replace('ggcl-m1', 'ggcl-m2'));
  });

  it("the other member's instance is known but never indexed, although its init pid is valid here", async () => {
    const pidA2 = await cs.a2!.initPid();
    const pidA1 = await cs.a1!.initPid();
    expect(readFileSync(`/proc/${pidA2}/stat`, 'utf8')).toContain('(sleep)');
    const seen = gw1!.service.inventory.get('ggcl-a2')!;
    expect(seen.location).toBe(M2);
    expect(seen.identity).toEqual({});
    expect(resolvedBy(gw1!, pidA2)).toBeUndefined();
    expect(resolvedBy(gw2!, pidA2)).toBe('ggcl-a2');
    expect(resolvedBy(gw2!, pidA1)).toBeUndefined();
    expect(resolvedBy(gw1!, pidA1)).toBe('ggcl-a1');
    expect(gw1!.service.inventory.get('ggcl-a1')!.identity.initPid).toBe(pidA1);
    // ggcl-a2 given gw1's socket too: gw1 refuses it as a caller from no instance.
    await cs.a2!.addDevice('gw1', { type: 'disk', source: gw1!.socketDir, path: '/mnt/gw1' });
    const r = await guestGet(cs.a2!, '/1.0/config/user.who', '/mnt/gw1/sock');
    expect(r.status).toBe(500);
    expect(r.body).not.toContain('ggcl-');
    await cs.a2!.removeDevice('gw1');
  });

  it("cloud-init 22.4.2 on each member finds its own instance through its member's gateway", async () => {
    for (const name of ['a1', 'a2']) {
      const c = cs[name]!;
      const init = await c.exec(['cloud-init', 'init', '--local'], { timeoutMs: 90_000 });
      expect(init.code, `cloud-init init --local in ${c.name}: ${init.stderr}`).toBe(0);
      const net = await c.exec(['cloud-init', 'init'], { timeoutMs: 90_000 });
      expect(net.code, `cloud-init init in ${c.name}: ${net.stderr}`).toBe(0);
      const q = await c.exec(['cloud-init', 'query', '--all'], { timeoutMs: 60_000 });
      expect(q.code, `cloud-init query --all in ${c.name}: ${q.stderr}`).toBe(0);
      const all = JSON.parse(q.stdout) as {
        platform: string;
        userdata: string;
        ds: { config: Record<string, string> };
      };
      expect(all.platform).toBe('lxd');
      expect(all.userdata).toBe(`#cloud-config\n# for ggcl-${name}\n`);
      expect(all.ds.config['user.who']).toBe(`ggcl-${name}`);
    }
  }, 300_000);

  it('lxc move --target: the old member unindexes it, the new member serves it', async () => {
    const cli = memberCli(M1);
    const oldPid = await cs.b1!.initPid();
    await lxc(['stop', '--force', 'ggcl-b1'], { cli });
    await lxc(['move', 'ggcl-b1', '--target', M2], { cli, timeoutMs: 300_000 });
    // Every host runs its gateway at the same path; here each gateway has its own: repoint the device.
    await lxc(['config', 'device', 'set', 'ggcl-b1', 'guestgate', `source=${gw2!.socketDir}`], { cli });
    await lxc(['start', 'ggcl-b1'], { cli });
    await gw2!.until(
      () => gw2!.service.inventory.get('ggcl-b1')?.identity.initPid !== undefined,
      30_000,
      'ggcl-b1 indexed by gw2',
    );
    await gw1!.until(() => gw1!.service.inventory.get('ggcl-b1')?.location === M2, 30_000, 'gw1 sees ggcl-b1 on m2');
    const b1 = gw1!.service.inventory.get('ggcl-b1')!;
    expect(b1.identity).toEqual({});
    const pid = await cs.b1!.initPid();
    expect(pid).not.toBe(oldPid);
    expect(resolvedBy(gw1!, pid)).toBeUndefined();
    expect(resolvedBy(gw2!, pid)).toBe('ggcl-b1');
    expect(await guestGet(cs.b1!, '/1.0/config/user.who')).toEqual({ status: 200, body: 'ggcl-b1' });
    expect(JSON.parse((await guestGet(cs.b1!, '/1.0')).body).location).toBe(M2);
  }, 300_000);

  it("a member's daemon down: its guests keep their data, /healthz says degraded; the other member is unaffected", async () => {
    const pidA2 = await cs.a2!.initPid();
    const pidB1 = await cs.b1!.initPid();
    await stopMember(M2);
    try {
      await gw2!.until(() => gw2!.service.inventory.source.unreachable !== undefined, 60_000, 'gw2 sees m2 down');
      const h2 = await healthz(gw2!);
      expect(h2.status).toBe('degraded');
      expect(h2.reasons.join('\n')).toMatch(/inventory source unreachable/);
      const m = await http(gw2!.service.admin!.path, 'GET', '/metrics');
      expect(m.text).toMatch(/^guestgate_inventory_source_degraded 1$/m);
      expect(await guestGetByPid(pidA2, '/1.0/config/user.who')).toEqual({ status: 200, body: 'ggcl-a2' });
      expect(await guestGetByPid(pidB1, '/1.0/config/user.who')).toEqual({ status: 200, body: 'ggcl-b1' });
      expect(resolvedBy(gw2!, pidA2)).toBe('ggcl-a2');
      // m1 and its gateway go on.
      expect(await guestGet(cs.a1!, '/1.0/config/user.who')).toEqual({ status: 200, body: 'ggcl-a1' });
      expect((await healthz(gw1!)).status).toBe('ok');
      expect(resolvedBy(gw1!, pidA2)).toBeUndefined();
    } finally {
      await startMember(M2);
    }
    await gw2!.until(() => gw2!.service.inventory.source.unreachable === undefined, 60_000, 'gw2 reconnected');
    // Resynced and current again: a change made through m1's API reaches m2's gateway and its guest.
    await cs.a2!.setConfig('user.who', 'ggcl-a2-again');
    await gw2!.until(
      () => gw2!.service.inventory.get('ggcl-a2')?.config['user.who'] === 'ggcl-a2-again',
      60_000,
      'config change through the cluster reaches gw2',
    );
    expect(await guestGetByPid(pidA2, '/1.0/config/user.who')).toEqual({ status: 200, body: 'ggcl-a2-again' });
    expect((await healthz(gw2!)).status).toBe('ok');
  }, 300_000);
});
