// The real client: Debian's cloud-init 22.4.2 DataSourceLXD, run with /usr/bin/python3 from a process
// that guestgate recognises as an instance (its own pid namespace), reads everything exactly as set.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { startGateway, type TestGateway } from '../helpers/gateway.ts';
import { createNamespace, type TestNamespace } from '../helpers/namespaces.ts';

const SCRIPT = fileURLToPath(new URL('../helpers/cloudinit-lxd.py', import.meta.url));
const USER_DATA = '#cloud-config\n# olá, ação, 日本語\nruncmd:\n  - echo "são paulo" > /tmp/hi\n';
const NETWORK = 'version: 2\nethernets:\n  eth0:\n    dhcp4: true\n';
const config = {
  'volatile.cloud-init.instance-id': '0f9e8d7c-6b5a-4c3d-9e2f-1a0b9c8d7e6f',
  'cloud-init.user-data': USER_DATA,
  'user.user-data': '#cloud-config\n# loses to cloud-init.user-data\n',
  'cloud-init.vendor-data': '#cloud-config\ntimezone: UTC\n',
  'cloud-init.network-config': NETWORK,
  'user.meta-data': 'public-keys:\n  - ssh-ed25519 AAAAC3Nza test@example\n',
  'user.role': 'db',
  'security.nesting': 'true',
};

let gw: TestGateway;
let ns: TestNamespace;

beforeAll(async () => {
  if (
    !existsSync('/usr/bin/python3') ||
    !existsSync('/usr/lib/python3/dist-packages/cloudinit/sources/DataSourceLXD.py')
  )
    throw new Error("this test needs Debian's cloud-init 22.4.2 and /usr/bin/python3: apt-get install -y cloud-init");
  ns = await createNamespace();
  gw = await startGateway({
    instances: [
      {
        name: 'ci1',
        config,
        devices: { eth0: { type: 'nic', name: 'eth0', network: 'lxdbr0' } },
        identity: { init_pid: ns.initPid },
      },
    ],
  });
});
afterAll(async () => {
  await gw?.close();
  await ns?.close();
});

async function crawl(): Promise<Record<string, any>> {
  const r = await ns.exec(['/usr/bin/python3', SCRIPT, gw.socket], { timeoutMs: 60_000 });
  if (r.code !== 0) throw new Error(`cloud-init DataSourceLXD failed (${r.code}): ${r.stderr}`);
  return JSON.parse(r.stdout);
}

describe('cloud-init 22.4.2 DataSourceLXD against guestgate', () => {
  it('reads meta-data, user-data, vendor-data and network-config exactly as set', async () => {
    const got = await crawl();
    expect(got.ok).toBe(true);
    expect(got.platform_viable).toBe(true);
    expect(got.instance_id).toBe('0f9e8d7c-6b5a-4c3d-9e2f-1a0b9c8d7e6f');
    expect(got.metadata['local-hostname']).toBe('ci1');
    expect(got.metadata['public-keys']).toEqual(['ssh-ed25519 AAAAC3Nza test@example']);
    expect(got.userdata_raw).toBe(USER_DATA); // non-ASCII intact: text/plain; charset=utf-8
    expect(got.vendordata_raw).toBe('#cloud-config\ntimezone: UTC\n');
    expect(got.network_config).toEqual({ version: 2, ethernets: { eth0: { dhcp4: true } } });
    expect(got.config['user.role']).toBe('db');
    expect(got.config['security.nesting']).toBeUndefined();
    expect(got.devices.eth0.type).toBe('nic');
    expect(got.instance_id_unchanged).toBe(true);
  });

  it('sees a new instance-id after the operator changes it (re-run on next boot)', async () => {
    gw.writeInstance({
      name: 'ci1',
      config: { ...config, 'volatile.cloud-init.instance-id': 'a1b2c3d4-0000-4000-8000-000000000001' },
      identity: { init_pid: ns.initPid },
    });
    await gw.until(
      () => gw.service.inventory.get('ci1')?.config['volatile.cloud-init.instance-id']?.startsWith('a1b2') === true,
    );
    expect((await crawl()).instance_id).toBe('a1b2c3d4-0000-4000-8000-000000000001');
  });
});
