// cloud-init 25.1.4 in a real LXD 5.0.2 container fronted by guestgate (`lxd-5.0` dialect, exact bytes:
// 25.1.4 decodes bodies as UTF-8 whatever the Content-Type, so application/octet-stream is safe for it).
// Every boot stage, then `query --all`: every value byte-exact, non-ASCII included.
import { afterAll, beforeAll, describe, it } from 'vitest';
import { type Container, launchContainer } from './lxd-harness.ts';
import { requireLxd, startLxdGateway, type LxdGateway } from './lxd-gateway.ts';
import { CONFIG, installCloudInit25 } from './cloud-init-25.ts';
import { expectServedExactly } from './cloud-init-25-check.ts';

const NAME = 'ggx-ci25-lx';
let gw: LxdGateway | undefined;
let c: Container | undefined;

beforeAll(async () => {
  await requireLxd();
  gw = await startLxdGateway();
  c = await launchContainer(NAME, { replace: true, guestSocketDir: gw.socketDir, config: CONFIG });
  await gw.until(() => gw!.service.inventory.get(NAME)?.identity.initPid !== undefined, 30_000, `${NAME} known`);
  await installCloudInit25(c);
}, 300_000);

afterAll(async () => {
  await c?.delete();
  await gw?.close();
});

describe('cloud-init 25.1.4 in an LXD container, served by guestgate (lxd-5.0)', () => {
  it('init --local, init, modules config/final, query --all: values byte-exact', async () => {
    await expectServedExactly(c!, gw!, NAME);
  }, 300_000);
});
