// cloud-init 25.1.4 in real LXD 5.0.2 containers fronted by guestgate, once per LXD dialect: `lxd-5.0`
// and `lxd` (6.x; no LXD 6 server runs here, so the container is LXD 5.0.2's and only guestgate speaks
// 6.x), exact bytes (25.1.4 decodes bodies as UTF-8 whatever the Content-Type, so
// application/octet-stream is safe for it). Every boot stage, then `query --all`: every value byte-exact,
// non-ASCII included.
import { afterAll, beforeAll, describe, it } from 'vitest';
import { type Container, launchContainer } from './lxd-harness.ts';
import { requireLxd, startLxdGateway, type LxdGateway } from './lxd-gateway.ts';
import { CONFIG, installCloudInit25 } from './cloud-init-25.ts';
import { expectServedExactly } from './cloud-init-25-check.ts';

const CASES = [
  { dialect: 'lxd-5.0', name: 'ggx-ci25-lx', metaHeader: '#cloud-config\n' },
  { dialect: 'lxd', name: 'ggx-ci25-l6', metaHeader: '' },
] as const;

describe.each(CASES)('cloud-init 25.1.4 in an LXD container, served by guestgate ($dialect)', (t) => {
  let gw: LxdGateway | undefined;
  let c: Container | undefined;

  beforeAll(async () => {
    await requireLxd();
    gw = await startLxdGateway({ guest: { dialect: t.dialect } });
    c = await launchContainer(t.name, { replace: true, guestSocketDir: gw.socketDir, config: CONFIG });
    await gw.until(() => gw!.service.inventory.get(t.name)?.identity.initPid !== undefined, 30_000, `${t.name} known`);
    await installCloudInit25(c);
  }, 300_000);

  afterAll(async () => {
    await c?.delete();
    await gw?.close();
  });

  it('init --local, init, modules config/final, query --all: values byte-exact', async () => {
    await expectServedExactly(c!, gw!, t.name, t.metaHeader);
  }, 300_000);
});
