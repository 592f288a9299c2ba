// `guestgate attach|detach` exit codes and refusals, against a small stand-in for the LXD REST API on a unix
// socket (a VM cannot run on the CI machine; real LXD and Incus runs are in test/interop/attach*.lxd.test.ts):
// a VM is refused with exit 2 and nothing is written, an unknown instance exits 3 before any change,
// a dir inventory exits 2 naming inventory.source, and --all skips VMs.
import { createServer, type Server } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import yaml from 'js-yaml';
import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import { cli } from '../helpers/service.ts';

const SOCKET_DIR_REL = 'run/devlxd';
let dir = '';
let server: Server;
let file = '';
const writes: string[] = [];
const instances: Record<string, Record<string, unknown>> = {};
const versions: Record<string, number> = {};
/** How many of the next PUTs find the instance changed since the caller's GET (412). */
let conflictsToMake = 0;

const inst = (name: string, type: string, attachedTo?: string) => ({
  name,
  project: 'default',
  type,
  status: 'Running',
  config: attachedTo ? { 'security.devlxd': 'false' } : {},
  devices: attachedTo ? { 'guestgate-lxd': { type: 'disk', source: attachedTo, path: '/dev/lxd' } } : {},
  expanded_config: attachedTo ? { 'security.devlxd': 'false' } : {},
  expanded_devices: attachedTo ? { 'guestgate-lxd': { type: 'disk', source: attachedTo, path: '/dev/lxd' } } : {},
});

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ggop-attach-'));
  const socketDir = join(dir, SOCKET_DIR_REL);
  instances.v1 = inst('v1', 'virtual-machine');
  instances.c1 = inst('c1', 'container', socketDir);
  server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const send = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(JSON.stringify(body));
    };
    if (url.pathname === '/1.0/instances' && req.method === 'GET')
      return send(200, { type: 'sync', status_code: 200, metadata: Object.values(instances) });
    if (url.pathname === '/1.0/operations/op1/wait')
      return send(200, { type: 'sync', status_code: 200, metadata: { status: 'Success', err: '' } });
    const m = /^\/1\.0\/instances\/([^/]+)$/.exec(url.pathname);
    const name = m ? decodeURIComponent(m[1]!) : '';
    const found = instances[name];
    const etag = `"v${versions[name] ?? 0}"`;
    if (req.method === 'GET' && found)
      return send(200, { type: 'sync', status_code: 200, metadata: found }, { ETag: etag });
    if (req.method === 'PUT' && found) {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        writes.push(`PUT ${url.pathname} If-Match: ${String(req.headers['if-match'])}`);
        if (conflictsToMake > 0) {
          // Someone else changed the instance between our GET and PUT.
          conflictsToMake--;
          versions[name] = (versions[name] ?? 0) + 1;
        }
        if (req.headers['if-match'] !== `"v${versions[name] ?? 0}"`)
          return send(412, { type: 'error', error: "ETag doesn't match", error_code: 412 });
        const put = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { config: unknown; devices: unknown };
        Object.assign(found, {
          config: put.config,
          devices: put.devices,
          expanded_config: put.config,
          expanded_devices: put.devices,
        });
        versions[name] = (versions[name] ?? 0) + 1;
        send(202, { type: 'async', status_code: 100, operation: '/1.0/operations/op1', metadata: { id: 'op1' } });
      });
      return;
    }
    if (req.method !== 'GET') writes.push(`${req.method} ${url.pathname}`);
    send(404, { type: 'error', error: 'Instance not found', error_code: 404 });
  });
  await new Promise<void>((r) => server.listen(join(dir, 'lxd.socket'), r));
  file = join(dir, 'lxd.yaml');
  writeFileSync(
    file,
    yaml.dump({
      runtime_dir: join(dir, 'run'),
      state_dir: join(dir, 'state'),
      inventory: { source: 'lxd', socket: join(dir, 'lxd.socket') },
    }),
  );
});

afterAll(async () => {
  await new Promise((r) => server.close(r));
  rmSync(dir, { recursive: true, force: true });
});

beforeEach(() => {
  writes.length = 0;
});

it('refuses a VM: exit 2, says why, writes nothing', async () => {
  const r = await cli(['attach', 'v1', '-c', file]);
  expect(r.code, r.stderr).toBe(2);
  expect(r.stderr).toMatch(/v1 is a virtual machine: a VM reaches its guest API over vsock/);
  expect((await cli(['detach', 'v1', '-c', file])).code).toBe(2);
  expect(writes).toEqual([]);
});

it('an unknown instance exits 3 before anything changes, also next to a good one', async () => {
  const r = await cli(['detach', 'c1', 'nope', '-c', file]);
  expect(r.code, r.stderr).toBe(3);
  expect(r.stderr).toContain('instance nope not found');
  expect(r.stdout).toBe('');
  expect(writes).toEqual([]);
});

it('--all skips VMs and changes nothing on an attached container', async () => {
  const r = await cli(['attach', '--all', '-c', file]);
  expect(r, r.stderr).toMatchObject({ code: 0 });
  expect(r.stdout).toBe(
    'v1: skipped: a virtual machine (guestgate serves containers)\nc1: already attached (nothing changed)\n',
  );
  expect(writes).toEqual([]);
});

it('PUTs with If-Match; an instance changed meanwhile (412) is read again and changed once', async () => {
  instances.c2 = inst('c2', 'container');
  try {
    conflictsToMake = 1;
    const r = await cli(['attach', 'c2', '-c', file]);
    expect(r, r.stderr).toMatchObject({ code: 0 });
    expect(r.stdout).toBe(
      `c2: set security.devlxd=false\nc2: added device guestgate-lxd (disk ${join(dir, SOCKET_DIR_REL)} at /dev/lxd)\n`,
    );
    expect(writes).toEqual([
      'PUT /1.0/instances/c2 If-Match: "v0"',
      'PUT /1.0/instances/c2 If-Match: "v1"',
      'PUT /1.0/instances/c2 If-Match: "v2"',
    ]);
    expect(instances.c2).toMatchObject({
      config: { 'security.devlxd': 'false' },
      devices: { 'guestgate-lxd': { type: 'disk', path: '/dev/lxd' } },
    });
  } finally {
    delete instances.c2;
  }
});

it('usage: no instance, or names with --all, exit 2; a dir inventory exits 2 naming inventory.source', async () => {
  expect((await cli(['attach', '-c', file])).code).toBe(2);
  expect((await cli(['attach', 'c1', '--all', '-c', file])).code).toBe(2);
  const dirConf = join(dir, 'dir.yaml');
  writeFileSync(
    dirConf,
    yaml.dump({ runtime_dir: join(dir, 'run2'), state_dir: join(dir, 'state2'), inventory: { source: 'dir', dir } }),
  );
  const r = await cli(['attach', 'c1', '-c', dirConf]);
  expect(r.code).toBe(2);
  expect(r.stderr).toMatch(/inventory\.source: attach\/detach need an lxd or incus inventory source/);
});
