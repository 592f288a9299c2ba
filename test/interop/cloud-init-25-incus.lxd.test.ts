// cloud-init 25.1.4 in a real Incus 6.0.4 container fronted by guestgate (`incus` dialect, exact bytes):
// Incus's own guest API off, guestgate's socket folder at /dev/incus AND /dev/lxd (cloud-init knows only
// /dev/lxd/sock). Every boot stage, then `query --all`: every value byte-exact, non-ASCII included.
import { afterAll, beforeAll, describe, it } from 'vitest';
import { type Container, INCUS_CLI, launchContainer } from './lxd-harness.ts';
import { requireLxd, startLxdGateway, type LxdGateway } from './lxd-gateway.ts';
import { CONFIG, installCloudInit25 } from './cloud-init-25.ts';
import { expectServedExactly } from './cloud-init-25-check.ts';

const cli = INCUS_CLI;
const NAME = 'ggx-ci25-in';
let gw: LxdGateway | undefined;
let c: Container | undefined;

beforeAll(async () => {
  await requireLxd(cli);
  gw = await startLxdGateway({ cli });
  c = await launchContainer(NAME, { cli, replace: true, guestSocketDir: gw.socketDir, config: CONFIG });
  await c.addDevice('guestgate-lxd', { type: 'disk', source: gw.socketDir, path: '/dev/lxd' });
  await gw.until(() => gw!.service.inventory.get(NAME)?.identity.initPid !== undefined, 30_000, `${NAME} known`);
  await installCloudInit25(c);
}, 300_000);

afterAll(async () => {
  await c?.delete();
  await gw?.close();
});

describe('cloud-init 25.1.4 in an Incus container, guestgate at /dev/incus and /dev/lxd', () => {
  it('init --local, init, modules config/final, query --all: values byte-exact', async () => {
    await expectServedExactly(c!, gw!, NAME);
  }, 300_000);
});
