// /healthz of a gateway fronting the real LXD 5.0.2 through a unix-socket proxy: ok while LXD answers,
// "degraded" with the reason (the server, unreachable) once the proxy is cut, ok again once it is back.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import yaml from 'js-yaml';
import pino from 'pino';
import { SocketProxy } from '../interop/socket-proxy.ts';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.ts';
import { startService, type Service } from '../../src/service.ts';
import { http } from '../helpers/service.ts';
import { waitFor } from '../helpers/wait.ts';
import { LXD_SOCKET, requireLxd } from '../interop/lxd-gateway.ts';

let dir = '';
let proxy: SocketProxy;
let svc: Service | undefined;

beforeAll(async () => {
  await requireLxd();
  dir = mkdtempSync(join(tmpdir(), 'ggop-health-'));
  proxy = new SocketProxy(join(dir, 'lxd.socket'), LXD_SOCKET);
  await proxy.listen();
  const file = join(dir, 'guestgate.yaml');
  const text = yaml.dump({
    runtime_dir: join(dir, 'run'),
    state_dir: join(dir, 'state'),
    inventory: { source: 'lxd', socket: proxy.path },
  });
  svc = await startService(parseConfig(text, file), pino({ level: 'silent' }));
});

afterAll(async () => {
  await svc?.stop();
  await proxy?.cut();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const health = async (): Promise<{ status: string; reasons?: string[] }> =>
  (await http(join(dir, 'run', 'admin.sock'), 'GET', '/healthz')).json();

/** The value of guestgate_inventory_source_degraded on /metrics. */
const degradedGauge = async (): Promise<string | undefined> =>
  (await http(join(dir, 'run', 'admin.sock'), 'GET', '/metrics')).text.match(
    /^guestgate_inventory_source_degraded (\S+)$/m,
  )?.[1];

it('degraded naming the unreachable server while it is away, ok once it is back', async () => {
  expect(await health()).toMatchObject({ status: 'ok' });
  await proxy.cut();
  await waitFor('degraded', async () => (await health()).status === 'degraded', { ms: 60_000, every: 50 });
  const h = await health();
  expect(h.reasons).toEqual([expect.stringMatching(new RegExp(`^inventory source unreachable: unix:${proxy.path}`))]);
  expect(await degradedGauge()).toBe('1');
  await proxy.listen();
  await waitFor('ok again', async () => (await health()).status === 'ok', { ms: 60_000, every: 50 });
  expect(await degradedGauge()).toBe('0');
}, 180_000);
