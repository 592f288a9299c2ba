// The LXD inventory source against the real LXD 5.0.2: a clear error when LXD is unreachable, instances
// with init pid and cgroup (also in another project), kept current from lifecycle events (config, stop,
// rename, start, profile, delete), and a full resync after the event stream was lost (a proxy in front of
// LXD's socket is cut and restored, as when LXD restarts).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { SocketProxy } from './socket-proxy.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Instance, InventoryChange } from '../../src/inventory/model.ts';
import { LxdSource } from '../../src/inventory/sources/lxd.ts';
import { existingContainer, IMAGE_ALIAS, launchContainer, lxc } from './lxd-harness.ts';
import { LXD_SOCKET, requireLxd } from './lxd-gateway.ts';

const log = pino({ level: process.env.GG_LOG ?? 'silent' });
const PROJECT = 'gg-proj';

let dir = '';
let proxy: SocketProxy;
let source: LxdSource | undefined;
const known = new Map<string, Instance>();
const changes: InventoryChange[] = [];

const until = async (pred: () => boolean, what: string, ms = 15_000): Promise<void> => {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end)
      throw new Error(
        `${what}: not seen within ${ms} ms; last changes: ${JSON.stringify(changes.slice(-3).map((c) => c.kind))}`,
      );
    await new Promise((r) => setTimeout(r, 20));
  }
};

beforeAll(async () => {
  await requireLxd();
  dir = mkdtempSync(join(tmpdir(), 'gg-src-'));
  proxy = new SocketProxy(join(dir, 'lxd.socket'), LXD_SOCKET);
  await proxy.listen();
  await lxc(['project', 'delete', PROJECT]).catch(() => {});
  await lxc(['project', 'create', PROJECT, '-c', 'features.images=false', '-c', 'features.profiles=false']).catch(
    () => {},
  );
});

afterAll(async () => {
  await source?.stop();
  for (const n of ['gg-src-a', 'gg-src-b']) await existingContainer(n).delete();
  await lxc(['delete', '--force', '--project', PROJECT, 'gg-src-p']).catch(() => {});
  await lxc(['project', 'delete', PROJECT]).catch(() => {});
  await lxc(['profile', 'delete', 'gg-src-prof']).catch(() => {});
  await proxy?.cut();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('LXD inventory source against LXD 5.0.2', () => {
  it('fails at start with an error naming the socket when LXD is unreachable', async () => {
    const s = new LxdSource({
      kind: 'lxd',
      endpoint: { socket: join(dir, 'missing.socket') },
      project: 'default',
      allProjects: false,
      log,
    });
    await expect(s.start(() => {})).rejects.toThrow(
      new RegExp(`cannot reach LXD at unix:${join(dir, 'missing.socket')}`),
    );
    await s.stop();
  });

  it('loads instances and follows config, stop, rename, start, profile and delete', async () => {
    source = new LxdSource({
      kind: 'lxd',
      endpoint: { socket: proxy.path },
      project: 'default',
      allProjects: true,
      log,
      backoff: { minMs: 50, maxMs: 500 },
    });
    const initial = await source.start((c) => {
      changes.push(c);
      if (c.kind === 'remove') known.delete(c.before.key);
      else known.set(c.after.key, c.after);
    });
    for (const i of initial) known.set(i.key, i);
    expect(source.readyInServer).toBe(false); // LXD 5.0.2 lacks instance_ready_state

    const [a] = await Promise.all([
      launchContainer('gg-src-a', { replace: true, config: { 'user.k': 'v1' } }),
      (async () => {
        await lxc(
          ['init', IMAGE_ALIAS, 'gg-src-p', '--project', PROJECT, '-c', 'raw.lxc=lxc.init.cmd = /bin/sleep infinity'],
          { timeoutMs: 180_000 },
        );
        await lxc(['start', 'gg-src-p', '--project', PROJECT]);
      })(),
    ]);
    await until(() => known.get('gg-src-a')?.identity.initPid !== undefined, 'gg-src-a running');
    const ia = known.get('gg-src-a')!;
    expect(ia.identity.initPid).toBe(await a!.initPid());
    expect(ia.identity.cgroup).toBe('/lxc.payload.gg-src-a');
    expect(ia.config['user.k']).toBe('v1');
    expect(ia.location).toBe('none');
    expect(readFileSync(`/proc/${ia.identity.initPid}/cgroup`, 'utf8')).toContain('/lxc.payload.gg-src-a');

    // Another project: key and cgroup carry the project (LXD's own naming), checked against the kernel.
    await until(() => known.get(`${PROJECT}_gg-src-p`)?.identity.initPid !== undefined, 'gg-src-p running');
    const ip = known.get(`${PROJECT}_gg-src-p`)!;
    expect(ip.project).toBe(PROJECT);
    expect(ip.identity.cgroup).toBe(`/lxc.payload.${PROJECT}_gg-src-p`);
    expect(readFileSync(`/proc/${ip.identity.initPid}/cgroup`, 'utf8')).toContain(`/lxc.payload.${PROJECT}_gg-src-p`);

    await a!.setConfig('user.k', 'v2');
    await until(() => known.get('gg-src-a')?.config['user.k'] === 'v2', 'config change');

    await lxc(['stop', '--force', 'gg-src-a']);
    await until(() => known.get('gg-src-a')?.identity.initPid === undefined, 'stopped: no init pid');
    await lxc(['rename', 'gg-src-a', 'gg-src-b']);
    await until(() => !known.has('gg-src-a') && known.has('gg-src-b'), 'rename');
    await lxc(['start', 'gg-src-b']);
    await until(() => known.get('gg-src-b')?.identity.initPid !== undefined, 'started again');
    expect(known.get('gg-src-b')!.identity.initPid).toBe(await existingContainer('gg-src-b').initPid());

    await lxc(['profile', 'delete', 'gg-src-prof']).catch(() => {});
    await lxc(['profile', 'create', 'gg-src-prof']);
    await lxc(['profile', 'set', 'gg-src-prof', 'user.p=1']);
    await lxc(['profile', 'add', 'gg-src-b', 'gg-src-prof']);
    await until(() => known.get('gg-src-b')?.config['user.p'] === '1', 'profile applied');
    await lxc(['profile', 'set', 'gg-src-prof', 'user.p=2']);
    await until(() => known.get('gg-src-b')?.config['user.p'] === '2', 'profile updated');
  }, 120_000);

  it('resyncs after the event stream was lost (changes made meanwhile are not missed)', async () => {
    expect(source!.connects).toBe(1);
    await proxy.cut();
    rmSync(proxy.path, { force: true });
    await lxc(['config', 'set', 'gg-src-b', 'user.during=outage']);
    await lxc(['delete', '--force', '--project', PROJECT, 'gg-src-p']);
    await new Promise((r) => setTimeout(r, 300));
    expect(known.get('gg-src-b')?.config['user.during']).toBeUndefined();
    await proxy.listen();
    await until(() => source!.connects === 2, 'reconnected');
    await until(() => known.get('gg-src-b')?.config['user.during'] === 'outage', 'resynced config');
    await until(() => !known.has(`${PROJECT}_gg-src-p`), 'resynced removal');
  }, 60_000);

  it('readiness: no volatile.last_state.ready written where the server lacks instance_ready_state', async () => {
    await source!.recordReady('gg-src-b', 'Ready');
    const cfg = await existingContainer('gg-src-b').expandedConfig();
    expect(cfg.config['volatile.last_state.ready']).toBeUndefined();
  });

  it('delete', async () => {
    await existingContainer('gg-src-b').delete();
    await until(() => !known.has('gg-src-b'), 'removed');
  });
});
