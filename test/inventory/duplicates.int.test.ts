// Two files defining the same instance: one wins, the other is refused (and counted on /healthz). When
// the winning file goes, the instance re-resolves to the other file at once (no SIGHUP needed).
import { readdirSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import type { Service } from '../../src/service.ts';
import { http, inProcess, layout, type Layout } from '../helpers/service.ts';
import { waitFor } from '../helpers/wait.ts';

let l: Layout | undefined;
let svc: Service | undefined;
afterAll(async () => {
  await svc?.stop();
  l?.cleanup();
});

const c1 = (from: string) => `name: c1\nconfig:\n  user.from: ${from}\nidentity: {}\n`;

it('deleting the file in use re-resolves c1 to the other file defining it', async () => {
  l = layout({ demo: 'name: demo\nidentity: {}\n', a: c1('a'), b: c1('b') });
  svc = await inProcess(l);
  const A = (p: string) => http(l!.adminSock, 'GET', p);
  const first = (await A('/1.0/instances/c1')).json().config['user.from'] as string;
  expect(['a', 'b']).toContain(first);
  const health = (await A('/healthz')).json();
  expect(health.status).toBe('degraded');
  const other = first === 'a' ? 'b' : 'a';
  expect(health.reasons).toEqual([`1 inventory file(s) rejected: ${other}.yaml (see the log)`]);

  unlinkSync(join(l.inventory, `${first}.yaml`));
  await waitFor(`c1 to come from ${other}.yaml`, async () => {
    const r = await A('/1.0/instances/c1');
    return r.status === 200 && r.json().config['user.from'] === other;
  });
  await waitFor('healthz ok again', async () => (await A('/healthz')).json().status === 'ok');
  expect(readdirSync(l.inventory).sort()).toEqual([`${other}.yaml`, 'demo.yaml']);
});
