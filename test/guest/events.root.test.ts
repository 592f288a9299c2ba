// /1.0/events from a real process in a pid namespace: WebSocket and raw stream, type filter,
// keepalive ping, events in order; isolation between instances with a positive control; and readiness
// that survives kill -9 and a restart of the real gateway process.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import yaml from 'js-yaml';
import { spawnGateway, waitHealthy } from '../helpers/service.ts';
import { startGateway, type TestGateway } from '../helpers/gateway.ts';
import { createNamespace, curlIn, type TestNamespace } from '../helpers/namespaces.ts';

const LISTENER = fileURLToPath(new URL('../helpers/event-listen.mjs', import.meta.url));
let gw: TestGateway;
let ns: TestNamespace;
const base = () => ({
  name: 'ev1',
  config: { 'user.foo': 'bar' } as Record<string, string>,
  devices: {} as Record<string, unknown>,
  identity: { init_pid: ns.initPid },
});

beforeAll(async () => {
  ns = await createNamespace();
  gw = await startGateway({ guest: { dialect: 'lxd-5.0' }, instances: [base()] });
});
afterAll(async () => {
  await gw?.close();
  await ns?.close();
});

interface Heard {
  code: number | null;
  lines: unknown[];
  stderr: string;
}

/**
 * Start a listener inside namespace `where`; `opened` resolves once it is connected (it rejects if the
 * listener exits first: an error reply, a refused connection), `done` when it exits. The listener exits
 * 0 only after `count` events; an error reply or a timeout are non-zero exits with the reason on stderr.
 */
function listen(mode: 'ws' | 'stream', count: number, query = '', where: TestNamespace = ns) {
  const p = where.spawn([process.execPath, LISTENER, gw.socket, mode, String(count), '30000', query]);
  let stdout = '';
  let stderr = '';
  p.stdout!.on('data', (d) => (stdout += d));
  const done = new Promise<Heard>((resolve) =>
    p.on('exit', (code) =>
      resolve({
        code,
        lines: stdout
          .split('\n')
          .filter(Boolean)
          .map((l) => JSON.parse(l)),
        stderr,
      }),
    ),
  );
  const opened = new Promise<void>((resolve, reject) => {
    p.stderr!.on('data', (d) => {
      stderr += d;
      if (/^open$/m.test(stderr)) resolve();
    });
    void done.then((h) => reject(new Error(`listener exited (${h.code}) before connecting: ${h.stderr}`)));
  });
  return { opened, done };
}

const strip = (events: unknown[]) => events.map((e) => ({ ...(e as object), timestamp: null }));

describe('guest events', () => {
  it('WebSocket and stream listeners see the same sequence, in order, and keepalive pings', async () => {
    const ws = listen('ws', 6);
    const stream = listen('stream', 6);
    const onlyConfig = listen('ws', 2, '?type=config');
    await Promise.all([ws.opened, stream.opened, onlyConfig.opened]);
    const steps: [Record<string, string>, Record<string, unknown>][] = [
      [{ 'user.foo': 'baz', 'security.nesting': 'true' }, {}],
      [{ 'user.foo': 'baz', 'cloud-init.vendor-data': 'x' }, { mnt: { type: 'disk', source: '/srv', path: '/mnt' } }],
      [{ 'user.foo': 'baz' }, { mnt: { type: 'disk', source: '/srv', path: '/mnt', readonly: 'true' } }],
      [{ 'user.foo': 'qux' }, {}],
    ];
    for (const [config, devices] of steps) {
      gw.writeInstance({ ...base(), config, devices });
      await gw.until(() => JSON.stringify(gw.service.inventory.get('ev1')?.config) === JSON.stringify(config));
    }
    const [w, s, c] = await Promise.all([ws.done, stream.done, onlyConfig.done]);
    for (const h of [w, s, c]) expect(h.code, h.stderr).toBe(0);
    const expected = [
      { type: 'config', timestamp: null, metadata: { key: 'user.foo', old_value: 'bar', value: 'baz' } },
      {
        type: 'device',
        timestamp: null,
        metadata: { action: 'added', config: { path: '/mnt', source: '/srv', type: 'disk' }, name: 'mnt' },
      },
      // LXD 5.0.2 reports a device update as removed + added.
      {
        type: 'device',
        timestamp: null,
        metadata: { action: 'removed', config: { path: '/mnt', source: '/srv', type: 'disk' }, name: 'mnt' },
      },
      {
        type: 'device',
        timestamp: null,
        metadata: {
          action: 'added',
          config: { path: '/mnt', readonly: 'true', source: '/srv', type: 'disk' },
          name: 'mnt',
        },
      },
      // One change touching config and devices: config events first, then device events.
      { type: 'config', timestamp: null, metadata: { key: 'user.foo', old_value: 'baz', value: 'qux' } },
      {
        type: 'device',
        timestamp: null,
        metadata: {
          action: 'removed',
          config: { path: '/mnt', readonly: 'true', source: '/srv', type: 'disk' },
          name: 'mnt',
        },
      },
    ];
    expect(strip(w.lines)).toEqual(expected);
    expect(strip(s.lines)).toEqual(expected);
    expect(strip(c.lines)).toEqual([expected[0], expected[4]]);
    expect(w.stderr).toContain('ping:keepalive'); // LXD 5.0.x ping payload, sent at connect
    expect(s.stderr).toContain(
      'HTTP/1.1 200 OK\nConnection: keep-alive\nContent-Type: application/json\nX-Content-Type-Options: nosniff',
    );
    expect((w.lines[0] as { timestamp: string }).timestamp).toMatch(
      /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/,
    );
  });

  it("a listener of another instance hears nothing of ev1's change, and the same listener hears its own", async () => {
    const other = await createNamespace();
    try {
      gw.writeInstance({ name: 'ev2', identity: { init_pid: other.initPid } });
      await gw.until(() => gw.service.inventory.get('ev2') !== undefined);
      const before = gw.service.hub.listenerCount;
      // ev2's listener stops at its first event; ev1's (the control) at its first.
      const ev2 = listen('stream', 1, '', other);
      const ev1 = listen('stream', 1);
      await Promise.all([ev2.opened, ev1.opened]);
      await gw.until(() => gw.service.hub.listenerCount === before + 2);
      // Positive control: the same mechanism hears ev1's change from ev1.
      gw.writeInstance({ ...base(), config: { 'user.foo': 'seen-only-by-ev1' } });
      const control = await ev1.done;
      expect(control.code, control.stderr).toBe(0);
      expect(control.lines).toMatchObject([
        { type: 'config', metadata: { key: 'user.foo', value: 'seen-only-by-ev1' } },
      ]);
      // ev1's change was published (and written to every listener it reached) before ev2's own change is
      // made: had ev2's listener been sent ev1's event, that would be its first line.
      gw.writeInstance({ name: 'ev2', config: { 'user.own': 'ev2' }, identity: { init_pid: other.initPid } });
      const heard = await ev2.done;
      expect(heard.code, heard.stderr).toBe(0);
      expect(heard.lines).toMatchObject([
        { type: 'config', metadata: { key: 'user.own', old_value: '', value: 'ev2' } },
      ]);
    } finally {
      gw.removeInstance('ev2');
      await other.close();
    }
  });
});

describe('readiness', () => {
  it('PATCH Ready is recorded durably: a new gateway process reads it after the first was killed -9 (lxd dialect)', async () => {
    // Two real gateway processes (bin/guestgate.js serve) on one config and state dir: nothing is shared
    // but the disk, and the first dies by SIGKILL, so the record must have been written before the 200.
    const dir = mkdtempSync(join(tmpdir(), 'gg-ready-'));
    chmodSync(dir, 0o755); // the guest reaches the socket folder
    mkdirSync(join(dir, 'inventory'));
    writeFileSync(join(dir, 'inventory', 'rd1.yaml'), yaml.dump({ name: 'rd1', identity: { init_pid: ns.initPid } }));
    const configFile = join(dir, 'guestgate.yaml');
    writeFileSync(
      configFile,
      yaml.dump({
        runtime_dir: join(dir, 'run'),
        state_dir: join(dir, 'state'),
        guest: { dialect: 'lxd' },
        inventory: { source: 'dir', dir: join(dir, 'inventory') },
        log: { level: 'warn' },
      }),
    );
    const sock = join(dir, 'run', 'devlxd', 'sock');
    const admin = join(dir, 'run', 'admin.sock');
    const procs: ChildProcess[] = [];
    const start = async (): Promise<ChildProcess> => {
      const p = spawnGateway(configFile);
      procs.push(p);
      await waitHealthy(admin, 60_000);
      return p;
    };
    try {
      const first = await start();
      expect(JSON.parse((await curlIn(ns, sock, '/1.0')).body).state).toBe('Started');
      const bad = await curlIn(ns, sock, '/1.0', { method: 'PATCH', data: '{"state":"ready"}' });
      expect([bad.status, bad.body]).toEqual([400, 'Invalid state "ready"\n']);
      const empty = await curlIn(ns, sock, '/1.0', { method: 'PATCH', data: '' });
      expect([empty.status, empty.body]).toEqual([400, 'Invalid request body: EOF\n']);
      const ok = await curlIn(ns, sock, '/1.0', { method: 'PATCH', data: '{"state":"Ready"}' });
      expect([ok.status, ok.contentType, ok.body]).toEqual([200, 'application/octet-stream', '']);
      expect(JSON.parse((await curlIn(ns, sock, '/1.0')).body).state).toBe('Ready');
      const killed = new Promise<NodeJS.Signals | null>((r) => first.once('exit', (_c, sig) => r(sig)));
      first.kill('SIGKILL');
      expect(await killed).toBe('SIGKILL');
      const second = await start();
      expect(second.pid).not.toBe(first.pid);
      expect(JSON.parse((await curlIn(ns, sock, '/1.0')).body).state).toBe('Ready');
    } finally {
      for (const p of procs)
        if (p.exitCode === null && p.signalCode === null) {
          const gone = new Promise((r) => p.once('exit', r));
          p.kill('SIGTERM');
          await gone;
        }
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('LXD 5.0.2 ignores PATCH and answers the GET document', async () => {
    const r = await curlIn(ns, gw.socket, '/1.0', { method: 'PATCH', data: '{"state":"Ready"}' });
    expect(r.body).toBe('{"state":"","api_version":"1.0","instance_type":"container","location":"none"}\n');
  });
});
