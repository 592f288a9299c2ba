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
  const instances: Record<string, unknown> = {
    v1: inst('v1', 'virtual-machine'),
    c1: inst('c1', 'container', socketDir),
  };
  server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (req.method !== 'GET') writes.push(`${req.method} ${url.pathname}`);
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (url.pathname === '/1.0/instances' && req.method === 'GET')
      return send(200, { type: 'sync', status_code: 200, metadata: Object.values(instances) });
    const m = /^\/1\.0\/instances\/([^/]+)$/.exec(url.pathname);
    const found = m ? instances[decodeURIComponent(m[1]!)] : undefined;
    if (req.method === 'GET' && found) return send(200, { type: 'sync', status_code: 200, metadata: found });
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
