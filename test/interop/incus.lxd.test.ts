// guestgate in front of a real Incus 6.0.4 (scripts/incus-setup.sh): `inventory.source: incus` following
// lifecycle events, isolation between fronted containers, guest events next to Incus's own guest API, and
// readiness bursts (Ready/Started/Ready/Ready) ending `volatile.last_state.ready=true` as on Incus itself.
// The image upstream `incus` and every endpoint are in probe-broad-incus.lxd.test.ts.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Container, INCUS_CLI, launchContainer, lxc, lxcQuery } from './lxd-harness.ts';
import { launchTwins, requireLxd, startLxdGateway, type LxdGateway } from './lxd-gateway.ts';
import { listen } from './listener.ts';
import { PY_EXCHANGE } from './py-exchange.ts';
import { pastServerRace, SERVER_RACE, SERVER_RACE_DEADLINE_MS } from './server-race.ts';

const cli = INCUS_CLI;
const SOCK = `${cli.guestDir}/sock`;
const CONFIG = { 'user.foo': 'bar' };

let gw: LxdGateway | undefined;
let gg: Container | undefined;
let own: Container | undefined;
let other: Container | undefined;
let src = '';

beforeAll(async () => {
  await requireLxd(cli);
  src = mkdtempSync(join(tmpdir(), 'ggx-incus-src-'));
  gw = await startLxdGateway({ cli });
  [gg, own] = await launchTwins(gw, 'ggx-inc', CONFIG, 'in');
  other = await launchContainer('ggx-inc-o2', {
    cli,
    replace: true,
    guestSocketDir: gw.socketDir,
    config: { 'user.who': 'o2' },
  });
}, 300_000);

afterAll(async () => {
  await Promise.all([gg?.delete(), own?.delete(), other?.delete()]);
  await gw?.close();
  if (src) rmSync(src, { recursive: true, force: true });
});

const get = async (c: Container, path: string) => {
  const once = async () => {
    const r = await c.exec(['curl', '-s', '-w', '\n%{http_code}', '--unix-socket', SOCK, `http://x${path}`]);
    const i = r.stdout.lastIndexOf('\n');
    return { status: Number(r.stdout.slice(i + 1)), body: r.stdout.slice(0, i) };
  };
  if (c !== own) return once();
  // Incus's own race (server-race.ts) is not its answer: asked again.
  return (await pastServerRace(once, (r) => r.status === 500 && SERVER_RACE.test(r.body))).result;
};
const inv = (name: string) => gw!.service.inventory.get(name);

describe('inventory.source: incus', () => {
  it('follows config changes, restarts (new init pid) and deletions through lifecycle events', async () => {
    await lxc(['config', 'set', gg!.name, 'user.k=v1'], { cli });
    await gw!.until(() => inv(gg!.name)?.config['user.k'] === 'v1', 30_000, 'user.k=v1 in the inventory');
    expect(await get(gg!, '/1.0/config/user.k')).toEqual({ status: 200, body: 'v1' });

    const pid = inv(gg!.name)?.identity.initPid;
    expect(pid).toBeGreaterThan(1);
    await lxc(['restart', '--force', gg!.name], { cli, timeoutMs: 120_000 });
    await gw!.until(
      () => ![undefined, pid].includes(inv(gg!.name)?.identity.initPid),
      60_000,
      'a new init pid after restart',
    );
    expect((await get(gg!, '/1.0/config/user.k')).body).toBe('v1');

    const tmp = await launchContainer('ggx-inc-tmp', { cli, replace: true, guestSocketDir: gw!.socketDir });
    await gw!.until(() => inv(tmp.name)?.identity.initPid !== undefined, 30_000, 'ggx-inc-tmp in the inventory');
    expect(JSON.parse((await get(tmp, '/1.0')).body)).toMatchObject({ api_version: '1.0', state: 'Started' });
    await tmp.delete();
    await gw!.until(() => inv(tmp.name) === undefined, 30_000, 'ggx-inc-tmp gone from the inventory');
  }, 300_000);

  it('isolation: each fronted container sees its own config only', async () => {
    await lxc(['config', 'set', gg!.name, 'user.only-gg=secret'], { cli });
    await gw!.until(() => inv(gg!.name)?.config['user.only-gg'] === 'secret', 30_000, 'user.only-gg');
    expect(await get(gg!, '/1.0/config/user.only-gg')).toEqual({ status: 200, body: 'secret' });
    expect(await get(other!, '/1.0/config/user.only-gg')).toEqual({ status: 404, body: 'not found\n' });
    expect(await get(other!, '/1.0/config/user.who')).toEqual({ status: 200, body: 'o2' });
    expect(await get(gg!, '/1.0/config/user.who')).toEqual({ status: 404, body: 'not found\n' });
    const meta = (await get(other!, '/1.0/meta-data')).body;
    expect(meta).toContain('local-hostname: ggx-inc-o2');
    expect(meta).not.toContain(gg!.name);
  }, 60_000);
});

describe('guest events: guestgate (incus) vs Incus 6.0.4, host changes through incus', () => {
  it('the same events on both (websocket, timestamps aside)', async () => {
    const strip = (es: unknown[]) => es.map((e) => JSON.stringify({ ...(e as object), timestamp: null })).sort();
    const [lg, li] = [gg!, own!].map((c) => listen(c.name, { cli, count: 4 }));
    await Promise.all([lg!.ready, li!.ready]);
    for (const c of [gg!, own!]) {
      await lxc(['config', 'set', c.name, 'user.foo=baz'], { cli });
      await lxc(['config', 'device', 'add', c.name, 'mydisk', 'disk', `source=${src}`, 'path=/mnt/tmp'], { cli });
      await lxc(['config', 'device', 'remove', c.name, 'mydisk'], { cli });
      await lxc(['config', 'set', c.name, 'cloud-init.vendor-data=#cloud-config'], { cli }); // no event
      await lxc(['config', 'set', c.name, 'user.foo=bar'], { cli });
    }
    const [eg, ei] = await Promise.all([lg!.done, li!.done]);
    expect(eg).toHaveLength(4);
    expect(strip(eg)).toEqual(strip(ei));
    expect((eg[0] as { type: string }).type).toBe('config');
  }, 120_000);
});

describe('readiness: PATCH /1.0 bursts', () => {
  // RACE (Incus's side only): a PATCH answered with the server's own race (server-race.ts) is sent again.
  const burst = `${PY_EXCHANGE}import os, re, time
race, until = os.environ.get("RACE"), time.time() + ${SERVER_RACE_DEADLINE_MS / 1000}
def patch(st):
    b = ('{"state":"%s"}' % st).encode()
    return exchange("${SOCK}", b"PATCH /1.0 HTTP/1.1\\r\\nHost: x\\r\\nContent-Length: %d\\r\\nConnection: close\\r\\n\\r\\n" % len(b) + b)
for st in ["Ready", "Started", "Ready", "Ready"]:
    r = patch(st)
    while race and b" 500 " in r.split(b"\\r\\n")[0] and re.search(race.encode(), r) and time.time() < until:
        time.sleep(0.1); r = patch(st)
    print(r.split(b"\\r\\n")[0].decode())
`;
  const ready = async (c: Container) =>
    (await lxcQuery<{ expanded_config: Record<string, string> }>(`/1.0/instances/${c.name}`, cli)).expanded_config[
      'volatile.last_state.ready'
    ];

  it('Ready/Started/Ready/Ready ends ready=true on Incus, for guestgate as for Incus itself (3 rounds)', async () => {
    for (let round = 1; round <= 3; round++) {
      // guestgate must answer every PATCH; Incus itself, on a loaded machine, sometimes answers 500 (its
      // own database write): the reference's burst is retried (at most 3 times, each failure printed).
      for (const c of [gg!, own!]) {
        const tries = c === gg ? 1 : 3;
        let lines: string[] = [];
        for (let t = 1; t <= tries; t++) {
          const r = await c.exec(
            c === own ? ['env', `RACE=${SERVER_RACE.source}`, 'python3', '-c', burst] : ['python3', '-c', burst],
          );
          lines = r.stdout.trim().split('\n');
          if (lines.every((l) => l === 'HTTP/1.1 200 OK')) break;
          console.log(`round ${round}, ${c.name} try ${t}: ${lines.join(' | ')} ${r.stderr}`);
        }
        expect(lines, c.name).toEqual(Array(4).fill('HTTP/1.1 200 OK'));
        expect(JSON.parse((await get(c, '/1.0')).body).state).toBe('Ready');
      }
      // guestgate writes to Incus after answering: wait until the last write landed (or a wrong value stays).
      const end = Date.now() + 20_000;
      while ((await ready(gg!)) !== 'true' && Date.now() < end) await new Promise((r) => setTimeout(r, 100));
      expect([await ready(gg!), await ready(own!)], `round ${round}`).toEqual(['true', 'true']);
      // Back to not ready for the next round (a Started PATCH), seen on both.
      for (const c of [gg!, own!]) {
        const patch = () =>
          c.exec(['curl', '-s', '-X', 'PATCH', '-d', '{"state":"Started"}', '--unix-socket', SOCK, 'http://x/1.0']);
        await (c === own ? pastServerRace(patch, (r) => SERVER_RACE.test(r.stdout)) : patch());
      }
      const end2 = Date.now() + 20_000;
      while ((await ready(gg!)) !== 'false' && Date.now() < end2) await new Promise((r) => setTimeout(r, 100));
      expect([await ready(gg!), await ready(own!)]).toEqual(['false', 'false']);
    }
  }, 180_000);
});
