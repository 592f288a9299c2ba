// Events: the host changes config and devices with `lxc`; a websocket listener in a guestgate-fronted
// container and one in a twin container on LXD's own devlxd receive the same events (timestamps aside).
// guestgate's arrive in order every time; LXD 5.0.2 sends each event from its own goroutine, so its
// order is best effort: compared as a multiset, and order mismatches are reported.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lxc, type Container } from './lxd-harness.ts';
import { launchTwins, requireLxd, startLxdGateway, type LxdGateway } from './lxd-gateway.ts';
import { listen } from './listener.ts';

const ROUNDS = 3;
const CONFIG = { 'user.foo': 'bar', 'cloud-init.vendor-data': '#cloud-config\n' };

let gw: LxdGateway | undefined;
let gg: Container | undefined;
let twin: Container | undefined;
let src = '';

beforeAll(async () => {
  await requireLxd();
  src = mkdtempSync(join(tmpdir(), 'gg-events-src-'));
  gw = await startLxdGateway();
  [gg, twin] = await launchTwins(gw, 'gg-ev', CONFIG);
}, 120_000);

afterAll(async () => {
  await Promise.all([gg?.delete(), twin?.delete()]);
  await gw?.close();
  if (src) rmSync(src, { recursive: true, force: true });
});

/** The host's changes, applied to one container, and the events LXD 5.0.2 sends for them. */
async function change(c: string, round: number): Promise<void> {
  const v = `v${round}`;
  await lxc(['config', 'set', c, `user.foo=${v}`]);
  await lxc(['config', 'set', c, 'user.x=1']);
  await lxc(['config', 'set', c, 'security.nesting=true']); // no event (not user.*)
  await lxc(['config', 'set', c, `cloud-init.vendor-data=#cloud-config\n# ${v}\n`]); // no event (cloud-init.*)
  await lxc(['config', 'device', 'add', c, 'mydisk', 'disk', `source=${src}`, 'path=/mnt/tmp']);
  await lxc(['config', 'device', 'set', c, 'mydisk', 'readonly=true']);
  await lxc(['config', 'device', 'remove', c, 'mydisk']);
  await lxc(['config', 'unset', c, 'user.x']);
  await lxc(['config', 'unset', c, 'security.nesting']);
}

function expected(prev: string, round: number): unknown[] {
  const disk = { path: '/mnt/tmp', source: src, type: 'disk' };
  const ro = { path: '/mnt/tmp', readonly: 'true', source: src, type: 'disk' }; // Go sorts map keys
  const ev = (type: string, metadata: unknown) => ({ type, timestamp: null, metadata });
  return [
    ev('config', { key: 'user.foo', old_value: prev, value: `v${round}` }),
    ev('config', { key: 'user.x', old_value: '', value: '1' }),
    ev('device', { action: 'added', config: disk, name: 'mydisk' }),
    ev('device', { action: 'removed', config: disk, name: 'mydisk' }),
    ev('device', { action: 'added', config: ro, name: 'mydisk' }),
    ev('device', { action: 'removed', config: ro, name: 'mydisk' }),
    ev('config', { key: 'user.x', old_value: '1', value: '' }),
  ];
}

const strip = (events: unknown[]) =>
  events.map((e) => {
    const o = e as Record<string, unknown>;
    expect(Object.keys(o)).toEqual(['type', 'timestamp', 'metadata']);
    expect(String(o.timestamp)).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/);
    return { ...o, timestamp: null };
  });
const sorted = (events: unknown[]) => events.map((e) => JSON.stringify(e)).sort();

describe('guest events: guestgate vs LXD 5.0.2, host changes through lxc', () => {
  it(`same events on both; guestgate's in order in each of ${ROUNDS} rounds`, async () => {
    let prev = 'bar';
    let lxdOutOfOrder = 0;
    for (let round = 1; round <= ROUNDS; round++) {
      const want = expected(prev, round);
      const lg = listen(gg!.name, { count: want.length });
      const ll = listen(twin!.name, { count: want.length });
      await Promise.all([lg.ready, ll.ready]);
      await Promise.all([change(gg!.name, round), change(twin!.name, round)]);
      const [eg, el] = (await Promise.all([lg.done, ll.done])).map(strip) as [unknown[], unknown[]];
      expect(
        eg.map((e) => JSON.stringify(e)),
        `guestgate, round ${round}`,
      ).toEqual(want.map((e) => JSON.stringify(e))); // key order too
      expect(sorted(el), `LXD, round ${round}`).toEqual(sorted(want));
      if (JSON.stringify(el) !== JSON.stringify(want)) lxdOutOfOrder++;
      prev = `v${round}`;
    }
    console.log(
      `events: guestgate in order ${ROUNDS}/${ROUNDS} rounds; LXD 5.0.2 in order ${ROUNDS - lxdOutOfOrder}/${ROUNDS}`,
    );
  }, 120_000);

  it('type filter: ?type=config gets only config events, on both', async () => {
    const lg = listen(gg!.name, { query: '?type=config', count: 2 });
    const ll = listen(twin!.name, { query: '?type=config', count: 2 });
    await Promise.all([lg.ready, ll.ready]);
    for (const c of [gg!.name, twin!.name]) {
      await lxc(['config', 'device', 'add', c, 'd2', 'disk', `source=${src}`, 'path=/mnt/d2']);
      await lxc(['config', 'set', c, 'user.y=2']);
      await lxc(['config', 'device', 'remove', c, 'd2']);
      await lxc(['config', 'unset', c, 'user.y']);
    }
    const [eg, el] = (await Promise.all([lg.done, ll.done])).map(strip);
    expect(eg).toEqual(el);
    expect(eg).toEqual([
      { type: 'config', timestamp: null, metadata: { key: 'user.y', old_value: '', value: '2' } },
      { type: 'config', timestamp: null, metadata: { key: 'user.y', old_value: '2', value: '' } },
    ]);
  }, 60_000);
});
