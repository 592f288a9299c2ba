// `guestgate attach` / `detach` against the real Incus 6.0.4, live on a running container (see attach-flow.ts):
// guestgate at /dev/incus/sock AND /dev/lxd/sock (cloud-init only looks there) after attach; Incus's own
// guest API at /dev/incus/sock again after detach, and no /dev/lxd (Incus has none).
import { afterAll, beforeAll, describe, it } from 'vitest';
import { type Container, INCUS_CLI, launchContainer, lxcQuery } from './lxd-harness.ts';
import { requireLxd, startLxdGateway, type LxdGateway } from './lxd-gateway.ts';
import { attachDetachFlow, MARKER } from './attach-flow.ts';

const cli = INCUS_CLI;
const NAME = 'ggop-att-in';
let gw: LxdGateway | undefined;
let c: Container | undefined;

beforeAll(async () => {
  await requireLxd(cli);
  gw = await startLxdGateway({ cli, guest: { raw_content_type: 'utf8', location: MARKER } });
  c = await launchContainer(NAME, { cli, replace: true });
}, 300_000);

afterAll(async () => {
  await c?.delete();
  await gw?.close();
});

describe('guestgate attach/detach with Incus 6.0.4', () => {
  it('a running container: guestgate at /dev/incus/sock and /dev/lxd/sock, then Incus again', async () => {
    await attachDetachFlow({
      gw: gw!,
      c: c!,
      dirs: ['/dev/incus', '/dev/lxd'],
      switchKey: 'security.guestapi',
      deviceNames: ['guestgate-incus', 'guestgate-lxd'],
      local: () =>
        lxcQuery<{ config: Record<string, string>; devices: Record<string, Record<string, string>> }>(
          `/1.0/instances/${NAME}`,
          cli,
        ),
    });
  }, 300_000);
});
