// /1.0/events from a real process in a pid namespace: WebSocket and raw stream, type filter,
// keepalive ping, events in order; and readiness that survives a restart.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
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

/** Start a listener inside the namespace; resolves once it is connected. */
function listen(mode: 'ws' | 'stream', count: number, query = '') {
  const p = ns.spawn([process.execPath, LISTENER, gw.socket, mode, String(count), '8000', query]);
  let stdout = '';
  let stderr = '';
  p.stdout!.on('data', (d) => (stdout += d));
  const opened = new Promise<void>((resolve) =>
    p.stderr!.on('data', (d) => {
      stderr += d;
      if (stderr.includes('open')) resolve();
    }),
  );
  const done = new Promise<{ lines: unknown[]; stderr: string }>((resolve) =>
    p.on('exit', () =>
      resolve({
        lines: stdout
          .split('\n')
          .filter(Boolean)
          .map((l) => JSON.parse(l)),
        stderr,
      }),
    ),
  );
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

  it('a listener of another instance hears nothing', async () => {
    const other = await createNamespace();
    try {
      gw.writeInstance({ name: 'ev2', identity: { init_pid: other.initPid } });
      await gw.until(() => gw.service.inventory.get('ev2') !== undefined);
      const p = other.spawn([process.execPath, LISTENER, gw.socket, 'stream', '1', '1500']);
      let out = '';
      p.stdout!.on('data', (d) => (out += d));
      await new Promise((r) => setTimeout(r, 300));
      gw.writeInstance({ ...base(), config: { 'user.foo': 'seen-only-by-ev1' } });
      await new Promise((r) => p.on('exit', r));
      expect(out).toBe('');
    } finally {
      await other.close();
    }
  });
});

describe('readiness', () => {
  it('PATCH Ready is recorded durably and survives a restart (lxd dialect)', async () => {
    const g2 = await startGateway({
      guest: { dialect: 'lxd' },
      instances: [{ name: 'rd1', identity: { init_pid: ns.initPid } }],
    });
    try {
      expect(JSON.parse((await curlIn(ns, g2.socket, '/1.0')).body).state).toBe('Started');
      const bad = await curlIn(ns, g2.socket, '/1.0', { method: 'PATCH', data: '{"state":"ready"}' });
      expect([bad.status, bad.body]).toEqual([400, 'Invalid state "ready"\n']);
      const empty = await curlIn(ns, g2.socket, '/1.0', { method: 'PATCH', data: '' });
      expect([empty.status, empty.body]).toEqual([400, 'Invalid request body: EOF\n']);
      const ok = await curlIn(ns, g2.socket, '/1.0', { method: 'PATCH', data: '{"state":"Ready"}' });
      expect([ok.status, ok.contentType, ok.body]).toEqual([200, 'application/octet-stream', '']);
      expect(JSON.parse((await curlIn(ns, g2.socket, '/1.0')).body).state).toBe('Ready');
      // A new process on the same state dir: the record is still there.
      await g2.service.stop();
      const { parseConfig } = await import('../../src/config/load.ts');
      const { readFileSync } = await import('node:fs');
      const file = `${g2.dir}/guestgate.yaml`;
      const config = parseConfig(readFileSync(file, 'utf8'), file);
      const { startService } = await import('../../src/service.ts');
      const { createLogger } = await import('../../src/log.ts');
      const again = await startService(config, createLogger('silent'));
      try {
        expect(JSON.parse((await curlIn(ns, again.guest.path, '/1.0')).body).state).toBe('Ready');
      } finally {
        await again.stop();
      }
    } finally {
      const { rmSync } = await import('node:fs');
      rmSync(g2.dir, { recursive: true, force: true });
    }
  });

  it('LXD 5.0.2 ignores PATCH and answers the GET document', async () => {
    const r = await curlIn(ns, gw.socket, '/1.0', { method: 'PATCH', data: '{"state":"Ready"}' });
    expect(r.body).toBe('{"state":"","api_version":"1.0","instance_type":"container","location":"none"}\n');
  });
});
