// The admin API over its real unix socket: instance CRUD, config keys and devices, the exact errors a
// user sees for bad input, healthz. (What needs the test to act as an instance's root through the
// guest socket, readiness, events and metrics, is in guest-driven.root.test.ts.)
import { readFileSync, statSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Service } from '../../src/service.ts';
import { DEMO, http, inProcess, json, layout, type Layout } from '../helpers/service.ts';

let l: Layout;
let svc: Service;
const A = (m: string, p: string, b?: string, h?: Record<string, string>) => http(l.adminSock, m, p, b, h);

beforeAll(async () => {
  l = layout({ demo: DEMO }, 'admin:\n  max_body: 4KiB\n  max_wait: 5\n');
  svc = await inProcess(l);
});
afterAll(async () => {
  await svc.stop();
  l.cleanup();
});

describe('admin socket', () => {
  it('is a unix socket with mode 0600 that answers /healthz', async () => {
    const st = statSync(l.adminSock);
    expect(st.isSocket()).toBe(true);
    expect(st.mode & 0o777).toBe(0o600);
    const r = await A('GET', '/healthz');
    expect(r.status).toBe(200);
    expect(r.json()).toEqual({ status: 'ok', instances: 1 });
  });
});

describe('instances', () => {
  it('concurrent writes: to one instance none is lost (each reads the last), to many they all land', async () => {
    await A('POST', '/1.0/instances', ...json({ name: 'cc0', config: {} }));
    const one = await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        A('PUT', `/1.0/instances/cc0/config/user.k${i}`, ...json({ value: `${i}` })),
      ),
    );
    for (const r of one) expect(r.status, r.text).toBe(200);
    const cfg = (await A('GET', '/1.0/instances/cc0')).json().config as Record<string, string>;
    for (let i = 0; i < 30; i++) expect(cfg[`user.k${i}`], `user.k${i}`).toBe(`${i}`);
    expect(readFileSync(join(l.inventory, 'cc0.yaml'), 'utf8')).toContain('user.k29');

    const names = Array.from({ length: 20 }, (_, i) => `cm${i}`);
    const made = await Promise.all(
      names.map((n) => A('POST', '/1.0/instances', ...json({ name: n, config: { 'user.n': n } }))),
    );
    for (const r of made) expect(r.status, r.text).toBe(201);
    for (const n of names) expect(readFileSync(join(l.inventory, `${n}.yaml`), 'utf8')).toContain(`user.n: ${n}`);
    const race = await Promise.all(['cr', 'cr'].map((n) => A('POST', '/1.0/instances', ...json({ name: n }))));
    expect(race.map((r) => r.status).sort()).toEqual([201, 409]);
    for (const n of ['cc0', 'cr', ...names]) expect((await A('DELETE', `/1.0/instances/${n}`)).status).toBe(204);
  });

  it('creates from YAML, writes the inventory file, assigns an instance-id', async () => {
    const r = await A(
      'POST',
      '/1.0/instances',
      'name: vm1\ntype: virtual-machine\nconfig:\n  user.a: "1"\nidentity:\n  addresses: [10.9.0.2]\n',
      { 'Content-Type': 'application/yaml' },
    );
    expect(r.status).toBe(201);
    const v = r.json();
    expect(v).toMatchObject({
      key: 'vm1',
      name: 'vm1',
      type: 'virtual-machine',
      state: 'Unknown',
      identity: { addresses: ['10.9.0.2'] },
    });
    expect(v.config['volatile.cloud-init.instance-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(readFileSync(join(l.inventory, 'vm1.yaml'), 'utf8')).toContain("user.a: '1'");
    expect((await A('GET', '/1.0/instances')).json().map((i: { key: string }) => i.key)).toEqual(['demo', 'vm1']);
  });

  it('refuses to create an existing instance (409)', async () => {
    const r = await A('POST', '/1.0/instances', ...json({ name: 'vm1' }));
    expect(r.status).toBe(409);
    expect(r.json()).toEqual({
      error: { code: 'E_CONFLICT', message: 'instance "vm1" already exists', instance: 'vm1' },
    });
  });

  it('sets and unsets config keys; a cloud-init change gets a new instance-id, a user.* change does not', async () => {
    const id0 = (await A('GET', '/1.0/instances/vm1')).json().config['volatile.cloud-init.instance-id'];
    const r1 = await A('PUT', '/1.0/instances/vm1/config/user.b', ...json({ value: 'two' }));
    expect(r1.status).toBe(200);
    expect(r1.json().config).toMatchObject({ 'user.b': 'two', 'volatile.cloud-init.instance-id': id0 });
    const r2 = await A(
      'PATCH',
      '/1.0/instances/vm1',
      ...json({ config: { 'cloud-init.user-data': '#cloud-config\n{}\n', 'user.a': null } }),
    );
    expect(r2.status).toBe(200);
    expect(r2.json().config['user.a']).toBeUndefined();
    expect(r2.json().config['volatile.cloud-init.instance-id']).not.toBe(id0);
    const r3 = await A('DELETE', '/1.0/instances/vm1/config/user.b');
    expect(r3.json().config['user.b']).toBeUndefined();
  });

  it('GET with Accept: application/yaml gives the inventory file shape, and PUT takes it back', async () => {
    const y = await A('GET', '/1.0/instances/vm1', undefined, { Accept: 'application/yaml' });
    expect(y.headers['content-type']).toMatch(/yaml/);
    const edited = y.text.replace('config:\n', 'config:\n  user.edited: "yes"\n');
    const r = await A('PUT', '/1.0/instances/vm1', edited, { 'Content-Type': 'application/yaml' });
    expect(r.status).toBe(200);
    expect(r.json().config['user.edited']).toBe('yes');
    // the JSON view round-trips too (key/state fields are ignored)
    const v = (await A('GET', '/1.0/instances/vm1')).json();
    expect((await A('PUT', '/1.0/instances/vm1', ...json(v))).status).toBe(200);
  });

  it('adds, changes and removes devices', async () => {
    const r = await A(
      'PUT',
      '/1.0/instances/vm1/devices/eth0',
      ...json({ type: 'nic', name: 'eth0', hwaddr: '00:16:3e:00:00:01' }),
    );
    expect(r.json().devices.eth0).toEqual({ type: 'nic', name: 'eth0', hwaddr: '00:16:3e:00:00:01' });
    const d = await A('DELETE', '/1.0/instances/vm1/devices/eth0');
    expect(d.json().devices.eth0).toBeUndefined();
  });

  it('deletes', async () => {
    expect((await A('DELETE', '/1.0/instances/vm1')).status).toBe(204);
    expect(readdirSync(l.inventory).filter((f) => f.endsWith('.yaml'))).toEqual(['demo.yaml']);
    expect((await A('GET', '/1.0/instances/vm1')).status).toBe(404);
  });
});

describe('bad input: the exact error the user sees', () => {
  it('unknown instance', async () => {
    const r = await A('PUT', '/1.0/instances/nope/config/user.x', ...json({ value: '1' }));
    expect(r.status).toBe(404);
    expect(r.text).toBe('{"error":{"code":"E_NOT_FOUND","message":"instance \\"nope\\" not found","instance":"nope"}}');
  });

  it('unknown config key on unset', async () => {
    const r = await A('DELETE', '/1.0/instances/demo/config/user.never');
    expect(r.status).toBe(404);
    expect(r.json()).toEqual({
      error: {
        code: 'E_NOT_FOUND',
        message: 'instance "demo" has no config key "user.never"',
        instance: 'demo',
        key: 'user.never',
      },
    });
  });

  it('bad config key', async () => {
    const r = await A('PATCH', '/1.0/instances/demo', ...json({ config: { 'user bad': 'x' } }));
    expect(r.status).toBe(400);
    expect(r.json()).toEqual({
      error: {
        code: 'E_BAD_REQUEST',
        message: 'request body: config.user bad: invalid config key "user bad"',
        key: 'config.user bad',
        problem: 'invalid config key',
      },
    });
  });

  it('non-string config value (the inventory schema speaks)', async () => {
    const r = await A('POST', '/1.0/instances', ...json({ name: 'x1', config: { 'user.list': [1, 2] } }));
    expect(r.status).toBe(400);
    expect(r.json()).toEqual({
      error: {
        code: 'E_INVENTORY',
        message: 'request body: config.user.list: expected a string value, got a list',
        file: 'request body',
        key: 'config.user.list',
        problem: 'expected a string value, got a list',
      },
    });
  });

  it('unknown top-level key', async () => {
    const r = await A('POST', '/1.0/instances', 'name: x2\nconfg: {}\n', { 'Content-Type': 'application/yaml' });
    expect(r.status).toBe(400);
    expect(r.json().error.message).toBe(
      'request body: confg: unknown key (known keys: name, project, type, location, config, devices, identity, architecture, description, ephemeral, profiles, stateful, status)',
    );
  });

  it('oversize body', async () => {
    const r = await A('PUT', '/1.0/instances/demo/config/user.big', ...json({ value: 'x'.repeat(5000) }));
    expect(r.status).toBe(413);
    expect(r.json()).toEqual({
      error: { code: 'E_TOO_LARGE', message: 'request body larger than 4096 bytes', limit: 4096 },
    });
  });

  it('oversize body without Content-Length (chunked)', async () => {
    const r = await new Promise<{ status: number; text: string }>((res, rej) => {
      const req = (require('node:http') as typeof import('node:http')).request(
        {
          socketPath: l.adminSock,
          method: 'POST',
          path: '/1.0/instances',
          headers: { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' },
        },
        (x) => {
          let t = '';
          x.on('data', (c: Buffer) => (t += c));
          x.on('end', () => res({ status: x.statusCode ?? 0, text: t }));
        },
      );
      req.on('error', rej);
      for (let i = 0; i < 10; i++) req.write('x'.repeat(1000));
      req.end();
    });
    expect(r.status).toBe(413);
    expect(JSON.parse(r.text).error.code).toBe('E_TOO_LARGE');
  });

  it('invalid YAML', async () => {
    const r = await A('POST', '/1.0/instances', 'name: [x\n', { 'Content-Type': 'application/yaml' });
    expect(r.status).toBe(400);
    expect(r.json()).toEqual({
      error: {
        code: 'E_INVENTORY',
        message: 'request body: invalid YAML: unexpected end of the stream within a flow collection (line 2, column 1)',
        file: 'request body',
        key: '',
        problem: 'invalid YAML: unexpected end of the stream within a flow collection (line 2, column 1)',
      },
    });
  });

  it('invalid JSON', async () => {
    const r = await A('POST', '/1.0/instances', '{"name":', { 'Content-Type': 'application/json' });
    expect(r.status).toBe(400);
    expect(r.json().error.code).toBe('E_BAD_REQUEST');
    expect(r.json().error.message).toMatch(/^request body: invalid JSON: /);
  });

  it('a PUT that renames', async () => {
    const r = await A('PUT', '/1.0/instances/demo', ...json({ name: 'other' }));
    expect(r.status).toBe(400);
    expect(r.json().error.message).toBe(
      'request body: name/project name instance "other", not "demo" (renames are not supported)',
    );
  });

  it('wrong method and unknown endpoint', async () => {
    const m = await A('POST', '/1.0/instances/demo');
    expect(m.status).toBe(405);
    expect(m.json()).toEqual({ error: { code: 'E_METHOD_NOT_ALLOWED', message: 'method not allowed' } });
    const n = await A('GET', '/2.0/nothing');
    expect(n.status).toBe(404);
    expect(n.json()).toEqual({ error: { code: 'E_NOT_FOUND', message: 'no such endpoint: GET /2.0/nothing' } });
  });

  it('bad wait parameters', async () => {
    const r = await A('GET', '/1.0/instances/demo/state?wait=ready');
    expect(r.status).toBe(400);
    expect(r.json()).toEqual({
      error: { code: 'E_BAD_REQUEST', message: 'wait: expected "Ready" or "Started", got "ready"', key: 'wait' },
    });
    const t = await A('GET', '/1.0/instances/demo/state?wait=Ready&timeout=soon');
    expect(t.json().error.message).toBe(
      'timeout: expected a duration such as "250ms", "10s" or "5m", got string "soon"',
    );
  });
});
