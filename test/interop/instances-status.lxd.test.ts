// `guestgate instances ls` in front of the real LXD 5.0.2: STATUS is LXD's own (Running, then Stopped after
// `lxc stop`, followed through lifecycle events), beside READY (guestgate's record of the guest's report).
import { afterAll, beforeAll, expect, it } from 'vitest';
import { cli as runCli } from '../helpers/service.ts';
import { type Container, launchContainer, lxc } from './lxd-harness.ts';
import { requireLxd, startLxdGateway, type LxdGateway } from './lxd-gateway.ts';

const NAME = 'ggop-status';
let gw: LxdGateway | undefined;
let c: Container | undefined;

beforeAll(async () => {
  await requireLxd();
  gw = await startLxdGateway();
  c = await launchContainer(NAME, { replace: true });
  await gw.until(() => gw!.service.inventory.get(NAME)?.identity.initPid !== undefined, 30_000, `${NAME} known`);
}, 300_000);

afterAll(async () => {
  await c?.delete();
  await gw?.close();
});

const row = async (): Promise<string[]> => {
  const r = await runCli(['instances', 'ls', '-c', gw!.configFile]);
  expect(r, r.stderr).toMatchObject({ code: 0 });
  const [head, ...rows] = r.stdout.trim().split('\n');
  expect(head!.split(/\s+/)).toEqual(['NAME', 'PROJECT', 'TYPE', 'STATUS', 'READY', 'ADDRESSES']);
  return rows.map((l) => l.split(/\s+/)).find((cells) => cells[0] === NAME) ?? [];
};

it('STATUS follows the server: Running, then Stopped', async () => {
  expect(await row()).toEqual([NAME, 'default', 'container', 'Running', 'Unknown']);
  await lxc(['stop', '--force', NAME]);
  await gw!.until(() => gw!.service.inventory.get(NAME)?.status === 'Stopped', 60_000, `${NAME} Stopped`);
  expect(await row()).toEqual([NAME, 'default', 'container', 'Stopped', 'Unknown']);
}, 300_000);
