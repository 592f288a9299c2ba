// The admin API where the test also acts as the demo instance's root on the guest socket (so it
// needs root): readiness long-poll, host events, guest events caused by admin writes, metrics.
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Service } from '../../src/service.ts';
import { DEMO, http, inProcess, json, layout, type Layout } from '../helpers/service.ts';
import { requireRoot } from '../helpers/requirements.ts';
import { waitFor } from '../helpers/wait.ts';

let l: Layout;
let svc: Service;
const A = (m: string, p: string, b?: string, h?: Record<string, string>) => http(l.adminSock, m, p, b, h);

beforeAll(async () => {
  requireRoot('acting as the demo instance root on the guest socket');
  l = layout({ demo: DEMO }, 'admin:\n  max_body: 4KiB\n  max_wait: 5\n');
  svc = await inProcess(l);
});
afterAll(async () => {
  await svc.stop();
  l.cleanup();
});
describe('readiness', () => {
  it('long-polls until the guest PATCHes Ready, then answers', async () => {
    const pending = A('GET', '/1.0/instances/demo/state?wait=Ready&timeout=5s');
    await waitFor('the long-poll to register', () => svc.obs.readyWaiters === 1);
    const g = await http(l.guestSock, 'PATCH', '/1.0', '{"state":"Ready"}');
    expect(g.status).toBe(200);
    const r = await pending;
    expect(r.status).toBe(200);
    expect(r.json()).toMatchObject({ instance: 'demo', state: 'Ready' });
  });

  it('times out with 408 and the current state', async () => {
    const r = await A(
      'GET',
      `/1.0/instances/demo/state?wait=Ready&timeout=200ms&after=${encodeURIComponent(new Date().toISOString())}`,
    );
    expect(r.status).toBe(408);
    expect(r.json().error).toMatchObject({
      code: 'E_TIMEOUT',
      message: 'instance "demo" did not report Ready within 0.2s',
      instance: 'demo',
      state: 'Ready',
    });
  });
});

describe('events', () => {
  it('host stream: created, updated (with changes), ready, deleted; guest stream: user.* config and device events', async () => {
    const host: any[] = [];
    const hostReq = (require('node:http') as typeof import('node:http')).request({
      socketPath: l.adminSock,
      path: '/1.0/events',
    });
    let buf = '';
    const got = new Promise<void>((res) =>
      hostReq.on('response', (r) => {
        res();
        r.on('data', (c: Buffer) => {
          buf += c;
          for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
            const line = buf.slice(0, i);
            buf = buf.slice(i + 1);
            if (line) host.push(JSON.parse(line));
          }
        });
      }),
    );
    hostReq.end();
    await got;
    // guest side: the raw event stream of instance demo (demo mode: this process is "demo")
    let guestRaw = '';
    const gs = connect(l.guestSock);
    gs.write('GET /1.0/events?type=config,device HTTP/1.1\r\nHost: x\r\n\r\n');
    gs.on('data', (c: Buffer) => (guestRaw += c));
    await waitFor('the guest listener to connect', () => svc.hub.listenerCount === 1);

    await A('POST', '/1.0/instances', ...json({ name: 'ev1' }));
    await A(
      'PATCH',
      '/1.0/instances/demo',
      ...json({
        config: { 'user.role': 'db', 'cloud-init.vendor-data': '#cloud-config\n' },
        devices: { data: { type: 'disk', path: '/data', source: '/srv' } },
      }),
    );
    await http(l.guestSock, 'PATCH', '/1.0', '{"state":"Ready"}');
    await A('DELETE', '/1.0/instances/ev1');
    // whole lines only: a chunk may end mid-line
    const guestEvents = () =>
      guestRaw
        .split('\n')
        .slice(0, -1)
        .filter((s) => s.startsWith('{'));
    await waitFor('4 host events and 2 guest events', () => host.length >= 4 && guestEvents().length >= 2);
    hostReq.destroy();
    gs.destroy();

    expect(host.map((e) => `${e.action} ${e.instance}`)).toEqual([
      'instance-created ev1',
      'instance-updated demo',
      'instance-ready demo',
      'instance-deleted ev1',
    ]);
    const upd = host[1];
    expect(upd.metadata.config.map((c: { key: string }) => c.key)).toEqual([
      'cloud-init.vendor-data',
      'user.role',
      'volatile.cloud-init.instance-id',
    ]);
    expect(upd.metadata.devices).toEqual([
      { name: 'data', action: 'added', config: { type: 'disk', path: '/data', source: '/srv' } },
    ]);

    const events = guestEvents().map((s) => JSON.parse(s));
    expect(events.map((e) => e.type)).toEqual(['config', 'device']);
    expect(events[0].metadata).toEqual({ key: 'user.role', old_value: 'web', value: 'db' });
    expect(events[1].metadata).toEqual({
      action: 'added',
      config: { path: '/data', source: '/srv', type: 'disk' },
      name: 'data',
    });
  });
});

describe('metrics', () => {
  it('exposes guest and admin requests, latency histograms, listeners and connections', async () => {
    await http(l.guestSock, 'GET', '/1.0/config');
    await A('GET', '/healthz');
    const r = await A('GET', '/metrics');
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(r.text).toContain('guestgate_guest_requests_total{endpoint="config",status="200"} 1');
    // Label order is the client library's choice (prom-client puts `le` first).
    expect(r.text).toMatch(
      /guestgate_guest_request_duration_seconds_bucket\{(?:le="\+Inf",endpoint="config"|endpoint="config",le="\+Inf")\} 1/,
    );
    expect(r.text).toContain('guestgate_admin_requests_total{method="GET",route="/healthz",status="200"} 1');
    expect(r.text).toContain('guestgate_guest_event_listeners 0');
    expect(r.text).toMatch(/guestgate_connections\{listener="admin"\} [1-9]/);
    expect(r.text).toContain('guestgate_instances 1');
  });
});
