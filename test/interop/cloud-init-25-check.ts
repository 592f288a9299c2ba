// The assertions shared by the cloud-init 25.1.4 interop files: what cloud-init stored equals what
// guestgate served from the server's config, byte for byte, and it really asked guestgate.
import { expect } from 'vitest';
import type { Container } from './lxd-harness.ts';
import type { LxdGateway } from './lxd-gateway.ts';
import { META, runStages, USER_DATA, VENDOR_DATA } from './cloud-init-25.ts';

/**
 * `metaHeader`: the first line of /1.0/meta-data: `#cloud-config` for LXD 5.0.x and Incus, none for
 * LXD 6.3+ (removed by LXD commit 5fe7007913; see the protocol notes, meta-data versions table).
 */
export async function expectServedExactly(
  c: Container,
  gw: LxdGateway,
  name: string,
  metaHeader = '#cloud-config\n',
): Promise<void> {
  const instanceId = (await c.expandedConfig()).config['volatile.cloud-init.instance-id'];
  expect(instanceId).toMatch(/^[0-9a-f-]{36}$/);
  const before = gw.service.inventory.get(name);
  expect(before, `${name} in guestgate's inventory`).toBeDefined();
  const r = await runStages(c);
  const all = r.all as Record<string, any>;
  if (process.env.GG_DUMP) console.log(JSON.stringify(all, null, 1).slice(0, 6000));
  expect(r.stages).toEqual({ 'init --local': 0, init: 0, 'modules --mode config': 0, 'modules --mode final': 0 });
  expect(all.platform).toBe('lxd');
  expect(all.v1.instance_id).toBe(instanceId);
  expect(all.v1.local_hostname).toBe(name);
  expect(all.ds['meta-data']).toBe(`${metaHeader}instance-id: ${instanceId}\nlocal-hostname: ${name}\n${META}`);
  expect(all.ds.config).toEqual({
    'cloud-init.user-data': USER_DATA,
    'cloud-init.vendor-data': VENDOR_DATA,
    'user.meta-data': META,
    'user.role': 'dbé',
  });
  expect(all.userdata).toBe(USER_DATA);
  expect(all.vendordata).toBe(VENDOR_DATA);
  // The user-data ran: write_files (init stage) and runcmd (config + final), non-ASCII intact.
  expect(r.files).toEqual({ written: 'naïve ✓ 日本\n', ran: 'são paulo\n' });
  expect(r.log).toContain('http://lxd/1.0/meta-data');
}
