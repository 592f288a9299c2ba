// An instance whose /state cannot be read (seen live: an Incus neighbour stopping and starting in a loop
// answered 500 for longer than the client's retries, and the whole gateway failed to start). One instance
// must never take the others down: it is served without an init pid (no caller can match it, so nobody
// reads its data), re-read on its own with backoff until its pid is known, and a pid the gateway still
// holds alive by pidfd is kept meanwhile. Against a fake daemon on a unix socket.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import type { Instance, InventoryChange } from '../../src/inventory/model.ts';
import { LxdSource } from '../../src/inventory/sources/lxd.ts';
import { createLogger } from '../../src/log.ts';
import { fakeLxd, type FakeLxd } from '../helpers/fake-upstreams.ts';
import { waitFor } from '../helpers/wait.ts';

let dir = '';
let lxd: FakeLxd;
let src: LxdSource | undefined;
const changes: InventoryChange[] = [];

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'gg-state-'));
  lxd = await fakeLxd(join(dir, 'lxd.sock'), { events: true });
  changes.length = 0;
});
afterEach(async () => {
  await src?.stop();
  src = undefined;
  await lxd.close();
  rmSync(dir, { recursive: true, force: true });
});

function source(): LxdSource {
  src = new LxdSource({
    kind: 'lxd',
    endpoint: { socket: join(dir, 'lxd.sock') },
    project: 'default',
    allProjects: false,
    log: createLogger('silent'),
    backoff: { minMs: 20, maxMs: 200 },
  });
  return src;
}

const lastOf = (name: string): Instance | undefined => {
  for (let i = changes.length - 1; i >= 0; i--) {
    const c = changes[i]!;
    if (c.kind === 'upsert' && c.after.name === name) return c.after;
  }
  return undefined;
};
const started = (name: string) => ({
  type: 'lifecycle',
  metadata: { action: 'instance-started', source: `/1.0/instances/${name}`, context: {} },
});

it('start: the others are served; the unreadable one has no init pid, then gets it once /state answers', async () => {
  lxd.instances.set('c1', { name: 'c1', status: 'Running', pid: 1111 });
  lxd.instances.set('c2', { name: 'c2', status: 'Running', pid: 2222 });
  lxd.failState.set('c2', 500);
  const list = await source().start((c) => changes.push(c));
  expect(Object.fromEntries(list.map((i) => [i.name, i.identity.initPid]))).toEqual({ c1: 1111, c2: undefined });
  const reads = lxd.stateReads.get('c2')!;
  // Asked again on its own (no event needed), and each time the read fails it stays without a pid.
  await waitFor('c2 read again', () => lxd.stateReads.get('c2')! > reads + 6);
  expect(lastOf('c2')).toBeUndefined();
  lxd.failState.delete('c2');
  await waitFor('c2 with its pid', () => lastOf('c2')?.identity.initPid === 2222);
  // Known now: no more reads of its /state without a reason.
  const after = lxd.stateReads.get('c2')!;
  await new Promise((r) => setTimeout(r, 300));
  expect(lxd.stateReads.get('c2')).toBe(after);
});

it('an event: a pid the gateway still holds alive is kept while /state fails; a dead one is dropped', async () => {
  lxd.instances.set('c1', { name: 'c1', status: 'Running', pid: 1111 });
  lxd.instances.set('c2', { name: 'c2', status: 'Running', pid: 2222 });
  const alive = new Set(['default/c1:1111', 'c1:1111']);
  await source().start(
    (c) => changes.push(c),
    (key, pid) => alive.has(`${key}:${pid}`),
  );
  lxd.failState.set('c1', 500);
  lxd.failState.set('c2', 500);
  lxd.instances.get('c2')!.config = { 'user.x': 'changed' };
  lxd.instances.get('c1')!.config = { 'user.x': 'changed' };
  lxd.emit(started('c1'));
  lxd.emit(started('c2'));
  await waitFor('both re-read', () => lastOf('c1') !== undefined && lastOf('c2') !== undefined);
  expect(lastOf('c1')!.identity.initPid).toBe(1111);
  expect(lastOf('c2')!.identity.initPid).toBeUndefined();
  expect(lastOf('c2')!.config['user.x']).toBe('changed');
  lxd.instances.get('c2')!.pid = 2223;
  lxd.failState.clear();
  await waitFor('c2 with its new pid', () => lastOf('c2')?.identity.initPid === 2223);
});

it('a resync: the readable instances are brought up to date although one /state fails', async () => {
  lxd.instances.set('c1', { name: 'c1', status: 'Running', pid: 1111 });
  await source().start((c) => changes.push(c));
  lxd.instances.set('c2', { name: 'c2', status: 'Running', pid: 2222 });
  lxd.instances.set('c3', { name: 'c3', status: 'Running', pid: 3333 });
  lxd.failState.set('c2', 500);
  await src!.reload();
  expect(lastOf('c3')?.identity.initPid).toBe(3333);
  expect(lastOf('c2')?.identity.initPid).toBeUndefined();
  lxd.failState.delete('c2');
  await waitFor('c2 with its pid', () => lastOf('c2')?.identity.initPid === 2222);
});
