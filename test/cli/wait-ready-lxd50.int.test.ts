// lxd-5.0 has no readiness (LXD 5.0.2 ignores PATCH /1.0): `wait-ready` says so and exits at once, unless
// guest.record_ready records the report, while the guest still gets exactly LXD 5.0.2's answer.
import { readFileSync, writeFileSync } from 'node:fs';
import { afterAll, expect, it } from 'vitest';
import type { Service } from '../../src/service.ts';
import { cli, http, inProcess, layout, type Layout } from '../helpers/service.ts';

const layouts: Layout[] = [];
const services: Service[] = [];
afterAll(async () => {
  for (const s of services) await s.stop();
  for (const l of layouts) l.cleanup();
});

async function gateway(guestLines: string): Promise<Layout> {
  const l = layout({ demo: 'name: demo\nidentity: {}\n' });
  layouts.push(l);
  const text = readFileSync(l.configFile, 'utf8');
  writeFileSync(l.configFile, text.replace('guest:\n', `guest:\n${guestLines}`));
  services.push(await inProcess(l));
  return l;
}

it('lxd-5.0: wait-ready exits 2 at once, naming the dialect and the option', async () => {
  const l = await gateway('  dialect: lxd-5.0\n');
  const r = await cli(['instances', 'wait-ready', 'demo', '--timeout', '10m', '--admin', l.adminSock]);
  expect(r.stderr).toContain('the lxd-5.0 dialect has no readiness');
  expect(r.stderr).toContain('guest.record_ready: true');
  expect(r.code).toBe(2);
});

it('lxd-5.0 + record_ready: PATCH /1.0 is answered as GET /1.0 (as LXD 5.0.2), and recorded', async () => {
  const l = await gateway('  dialect: lxd-5.0\n  record_ready: true\n');
  const get = await http(l.guestSock, 'GET', '/1.0');
  const patch = await http(l.guestSock, 'PATCH', '/1.0', '{"state":"Ready"}');
  expect(patch.status).toBe(get.status);
  expect(patch.text).toBe(get.text);
  expect(patch.headers['content-type']).toBe(get.headers['content-type']);
  const w = await cli(['instances', 'wait-ready', 'demo', '--timeout', '30s', '-o', 'json', '--admin', l.adminSock]);
  expect(w.code, w.stderr).toBe(0);
  expect(JSON.parse(w.stdout)).toMatchObject({ instance: 'demo', state: 'Ready' });
  // Still LXD 5.0.2's GET answer afterwards (the legacy document never shows readiness).
  expect((await http(l.guestSock, 'GET', '/1.0')).text).toBe(get.text);
});
