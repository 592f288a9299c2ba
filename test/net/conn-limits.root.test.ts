// One instance (the host, as demo) holds hundreds of idle connections on the guest socket; an honest
// instance in its own pid namespace is still served, and the abuser keeps at most its cap.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { connect, type Socket } from 'node:net';
import { createNamespace, curlIn, type TestNamespace } from '../helpers/namespaces.ts';
import { DEMO, inProcess, layout, type Layout } from '../helpers/service.ts';
import type { Service } from '../../src/service.ts';
import { waitFor } from '../helpers/wait.ts';
import { counterValue } from '../helpers/metrics.ts';

let ns: TestNamespace;
let l: Layout;
let svc: Service;
const conns: Socket[] = [];

beforeAll(async () => {
  ns = await createNamespace();
  const honest = `name: honest\nconfig:\n  user.key: honest-value\nidentity:\n  init_pid: ${ns.initPid}\n`;
  // A small process-wide cap, so that the abuser alone could fill it without the per-instance cap.
  l = layout({ demo: DEMO, honest }, 'limits:\n  max_connections: 200\n  reserve: 20\n');
  svc = await inProcess(l);
});
afterAll(async () => {
  for (const c of conns) c.destroy();
  await svc?.stop();
  l?.cleanup();
  await ns?.close();
});

it('an instance holding 400 idle connections keeps 64 of them, and another instance is served', async () => {
  for (let i = 0; i < 400; i++) {
    const c = connect(svc.guest.path);
    c.on('error', () => {});
    c.resume();
    conns.push(c);
  }
  await waitFor('336 connections over the cap closed', () => conns.filter((c) => c.closed).length === 336, {
    ms: 60_000,
  });
  expect(await counterValue(svc.obs.connectionsRefused, { listener: 'guest', reason: 'per-key' })).toBe(336);
  for (let i = 0; i < 5; i++) {
    const r = await curlIn(ns, svc.guest.path, '/1.0/config/user.key');
    expect(r.status).toBe(200);
    expect(r.body).toBe('honest-value');
  }
  expect(conns.filter((c) => !c.closed)).toHaveLength(64);
});
