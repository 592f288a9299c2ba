// One guestgate per member of a real 2-member cluster (LXD 5.0.2 or Incus 6.0.4, scripts/cluster-setup.sh, both
// members on this machine, sharing its pid namespace): each gateway, on its own runtime dir, fronts the
// containers of its member. On one machine a pid from the other member is ALSO a valid local pid, so a gateway
// that forgot the location check would still answer the right data: the tests assert on the gateway's index
// (what the inventory resolves for the other member's init), and that the other member's guest, given this
// gateway's socket, is refused. Then: a move across members (`lxc|incus move --target`), and a member daemon
// stopped (its guests keep being served from last known state, /healthz says degraded) and started again; and
// the real cloud-init 22.4.2 in a container on each member (Incus: guestgate also at /dev/lxd, where it looks).
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readCallerFacts } from '../../src/identity/facts.ts';
import { http } from '../helpers/service.ts';
import { cluster, type Flavour } from './cluster.ts';
import { startLxdGateway, type LxdGateway } from './lxd-gateway.ts';
import { launchContainer, lxc, type Container } from './lxd-harness.ts';

const run = promisify(execFile);

/** The interop suite on the `flavour` cluster (one test file per flavour). */
export function describeCluster(flavour: Flavour): void {
  const cl = cluster(flavour);
  const [M1, M2] = cl.members;
  const cli1 = cl.cli(M1);
  const SOCK = `${cli1.guestDir}/sock`;
  const p = M1.slice(0, 4); // ggcl | ggci
  const name = (short: string): string => `${p}-${short}`;

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

  const launch = (name: string, member: string, gw: LxdGateway | undefined) =>
    launchContainer(name, {
      replace: true,
      target: member,
      cli: cli1,
      config: { 'user.who': name, 'cloud-init.user-data': `#cloud-config\n# for ${name}\n` },
      ...(gw ? { guestSocketDir: gw.socketDir } : {}),
    });

  beforeAll(async () => {
    await cl.setup();
    const [g1, g2] = await Promise.all(
      [M1, M2].map((m) => startLxdGateway({ cli: cl.cli(m), socket: cl.socket(m), dirPrefix: `${m}-gw-` })),
    );
    [gw1, gw2] = [g1!, g2!];
    const [a1, b1, a2, d1] = await Promise.all([
      launch(name('a1'), M1, g1),
      launch(name('b1'), M1, g1),
      launch(name('a2'), M2, g2),
      launch(name('d1'), M1, undefined), // answered by the server's own guest API: the reference for GET /1.0
    ]);
    Object.assign(cs, { a1, b1, a2, d1 });
    for (const [gw, name] of [
      [g1!, `${p}-a1`],
      [g1!, `${p}-b1`],
      [g2!, `${p}-a2`],
    ] as const)
      await gw.until(() => gw.service.inventory.get(name)?.identity.initPid !== undefined, 30_000, `${name} indexed`);
    await g1!.until(() => g1!.service.inventory.get(`${p}-a2`) !== undefined, 30_000, 'a2 known to gw1');
    await g2!.until(() => g2!.service.inventory.get(`${p}-a1`) !== undefined, 30_000, 'a1 known to gw2');
  }, 300_000);

  afterAll(async () => {
    await Promise.allSettled([gw1?.close(), gw2?.close()]);
    await cl.teardown();
  }, 300_000);

  describe(`one guestgate per ${cl.server} cluster member`, () => {
    it('each gateway learnt its member from GET /1.0 (environment.server_name)', () => {
      expect((gw1!.service.inventory.source as { member?: string }).member).toBe(M1);
      expect((gw2!.service.inventory.source as { member?: string }).member).toBe(M2);
    });

    it(`each container reads only its own data; GET /1.0 says its member, byte for byte as ${cl.server}`, async () => {
      for (const short of ['a1', 'b1', 'a2']) {
        const r = await guestGet(cs[short]!, '/1.0/config/user.who');
        expect(r).toEqual({ status: 200, body: name(short) });
      }
      // The server's own guest API in d1 is the reference: byte for byte, its member as location.
      const ref = await guestGet(cs.d1!, '/1.0');
      expect(ref.status).toBe(200);
      expect(JSON.parse(ref.body)).toMatchObject({ api_version: '1.0', instance_type: 'container', location: M1 });
      expect(await guestGet(cs.a1!, '/1.0')).toEqual(ref);
      expect((await guestGet(cs.a2!, '/1.0')).body).toBe(ref.body.replace(M1, M2));
    });

    it("the other member's instance is known but never indexed, although its init pid is valid here", async () => {
      const pidA2 = await cs.a2!.initPid();
      const pidA1 = await cs.a1!.initPid();
      expect(readFileSync(`/proc/${pidA2}/stat`, 'utf8')).toContain('(sleep)');
      const seen = gw1!.service.inventory.get(`${p}-a2`)!;
      expect(seen.location).toBe(M2);
      expect(seen.identity).toEqual({});
      expect(resolvedBy(gw1!, pidA2)).toBeUndefined();
      expect(resolvedBy(gw2!, pidA2)).toBe(`${p}-a2`);
      expect(resolvedBy(gw2!, pidA1)).toBeUndefined();
      expect(resolvedBy(gw1!, pidA1)).toBe(`${p}-a1`);
      expect(gw1!.service.inventory.get(`${p}-a1`)!.identity.initPid).toBe(pidA1);
      // a2 given gw1's socket too: gw1 refuses it as a caller from no instance.
      await cs.a2!.addDevice('gw1', { type: 'disk', source: gw1!.socketDir, path: '/mnt/gw1' });
      const r = await guestGet(cs.a2!, '/1.0/config/user.who', '/mnt/gw1/sock');
      expect(r.status).toBe(500);
      expect(r.body).not.toContain(`${p}-`);
      await cs.a2!.removeDevice('gw1');
    });

    it("cloud-init 22.4.2 on each member finds its own instance through its member's gateway", async () => {
      for (const short of ['a1', 'a2']) {
        const c = cs[short]!;
        // cloud-init looks only at /dev/lxd/sock: on Incus, guestgate's socket is mounted there too.
        if (cli1.guestDir !== '/dev/lxd')
          await c.addDevice('guestgate-lxd', {
            type: 'disk',
            source: (short === 'a1' ? gw1 : gw2)!.socketDir,
            path: '/dev/lxd',
          });
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
        expect(all.userdata).toBe(`#cloud-config\n# for ${name(short)}\n`);
        expect(all.ds.config['user.who']).toBe(name(short));
      }
    }, 300_000);

    it(`${cli1.bin} move --target: the old member unindexes it, the new member serves it`, async () => {
      const cli = cli1;
      const oldPid = await cs.b1!.initPid();
      await lxc(['stop', '--force', `${p}-b1`], { cli });
      await lxc(['move', `${p}-b1`, '--target', M2], { cli, timeoutMs: 300_000 });
      // Every host runs its gateway at the same path; here each gateway has its own: repoint the device.
      await lxc(['config', 'device', 'set', `${p}-b1`, 'guestgate', `source=${gw2!.socketDir}`], { cli });
      await lxc(['start', `${p}-b1`], { cli });
      await gw2!.until(
        () => gw2!.service.inventory.get(`${p}-b1`)?.identity.initPid !== undefined,
        30_000,
        'b1 indexed by gw2',
      );
      await gw1!.until(() => gw1!.service.inventory.get(`${p}-b1`)?.location === M2, 30_000, 'gw1 sees b1 on m2');
      const b1 = gw1!.service.inventory.get(`${p}-b1`)!;
      expect(b1.identity).toEqual({});
      const pid = await cs.b1!.initPid();
      expect(pid).not.toBe(oldPid);
      expect(resolvedBy(gw1!, pid)).toBeUndefined();
      expect(resolvedBy(gw2!, pid)).toBe(`${p}-b1`);
      expect(await guestGet(cs.b1!, '/1.0/config/user.who')).toEqual({ status: 200, body: `${p}-b1` });
      expect(JSON.parse((await guestGet(cs.b1!, '/1.0')).body).location).toBe(M2);
    }, 300_000);

    it("a member's daemon down: its guests keep their data, /healthz says degraded; the other member is unaffected", async () => {
      const pidA2 = await cs.a2!.initPid();
      const pidB1 = await cs.b1!.initPid();
      await cl.stopMember(M2);
      try {
        await gw2!.until(() => gw2!.service.inventory.source.unreachable !== undefined, 60_000, 'gw2 sees m2 down');
        const h2 = await healthz(gw2!);
        expect(h2.status).toBe('degraded');
        expect(h2.reasons.join('\n')).toMatch(/inventory source unreachable/);
        const m = await http(gw2!.service.admin!.path, 'GET', '/metrics');
        expect(m.text).toMatch(/^guestgate_inventory_source_degraded 1$/m);
        expect(await guestGetByPid(pidA2, '/1.0/config/user.who')).toEqual({ status: 200, body: `${p}-a2` });
        expect(await guestGetByPid(pidB1, '/1.0/config/user.who')).toEqual({ status: 200, body: `${p}-b1` });
        expect(resolvedBy(gw2!, pidA2)).toBe(`${p}-a2`);
        // m1 and its gateway go on.
        expect(await guestGet(cs.a1!, '/1.0/config/user.who')).toEqual({ status: 200, body: `${p}-a1` });
        expect((await healthz(gw1!)).status).toBe('ok');
        expect(resolvedBy(gw1!, pidA2)).toBeUndefined();
      } finally {
        await cl.startMember(M2);
      }
      await gw2!.until(() => gw2!.service.inventory.source.unreachable === undefined, 60_000, 'gw2 reconnected');
      // Resynced and current again: a change made through m1's API reaches m2's gateway and its guest.
      // For a moment after the member answers again, a change forwarded to it may still fail: Incus 6.0.4
      // says "Server isn't ready yet", LXD 5.0.2 "Missing event connection with target cluster member"
      // (member 1 reconnects its event stream to member 2 on its own schedule). Both seen in fresh-clone runs.
      for (let t = Date.now(); ; ) {
        const e = await cs.a2!.setConfig('user.who', `${p}-a2-again`).then(
          () => undefined,
          (err: Error) => err,
        );
        if (!e) break;
        if (!/isn't ready yet|Missing event connection/.test(e.message) || Date.now() - t > 60_000) throw e;
        await new Promise((r) => setTimeout(r, 500));
      }
      await gw2!.until(
        () => gw2!.service.inventory.get(`${p}-a2`)?.config['user.who'] === `${p}-a2-again`,
        60_000,
        'config change through the cluster reaches gw2',
      );
      expect(await guestGetByPid(pidA2, '/1.0/config/user.who')).toEqual({ status: 200, body: `${p}-a2-again` });
      expect((await healthz(gw2!)).status).toBe('ok');
    }, 300_000);
  });
}
