// The real cloud-init 22.4.2 inside a real LXD container, whose /dev/lxd is guestgate's socket folder
// (LXD's own devlxd off): `cloud-init init --local` (then `init`) and `cloud-init query --all` show exactly the
// meta-data, user-data (with non-ASCII text) and vendor-data guestgate served from LXD's config.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchContainer, type Container } from './lxd-harness.ts';
import { requireLxd, startLxdGateway, type LxdGateway } from './lxd-gateway.ts';

const NAME = 'gg-cloudinit';
const USER_DATA = '#cloud-config\n# olá, ação, 日本語 ✓\nruncmd:\n  - echo "são paulo" > /tmp/hi\n';
const VENDOR_DATA = '#cloud-config\ntimezone: UTC\n';

let gw: LxdGateway | undefined;
let c: Container | undefined;

beforeAll(async () => {
  await requireLxd();
  // Default raw content type (text/plain; charset=utf-8): cloud-init 22.4.2 decodes non-ASCII correctly.
  gw = await startLxdGateway({ guest: { dialect: 'lxd-5.0', raw_content_type: 'utf8' } });
  c = await launchContainer(NAME, {
    replace: true,
    guestSocketDir: gw.socketDir,
    config: {
      'cloud-init.user-data': USER_DATA,
      'cloud-init.vendor-data': VENDOR_DATA,
      'user.meta-data': 'public-keys:\n  - ssh-ed25519 AAAAC3Nza test@example\n',
      'user.role': 'db',
    },
  });
  await gw.until(
    () => gw!.service.inventory.get(NAME)?.identity.initPid !== undefined,
    15_000,
    `${NAME} running in guestgate's inventory`,
  );
}, 120_000);

afterAll(async () => {
  await c?.delete();
  await gw?.close();
});

describe('cloud-init 22.4.2 in an LXD container, served by guestgate', () => {
  it('init --local then query --all: meta-data, user-data and vendor-data exactly as configured in LXD', async () => {
    const lxdCfg = await c!.expandedConfig();
    const instanceId = lxdCfg.config['volatile.cloud-init.instance-id'];
    expect(instanceId).toMatch(/^[0-9a-f-]{36}$/);

    const init = await c!.exec(['cloud-init', 'init', '--local'], { timeoutMs: 90_000 });
    expect(init.code, `cloud-init init --local failed: ${init.stderr}`).toBe(0);
    // 22.4.2's `query --all` also reads /var/lib/cloud/instance/user-data.txt, which the network stage
    // writes (with no datasource lookup of its own: it reuses what init --local found).
    const net = await c!.exec(['cloud-init', 'init'], { timeoutMs: 90_000 });
    expect(net.code, `cloud-init init failed: ${net.stderr}`).toBe(0);
    const q = await c!.exec(['cloud-init', 'query', '--all'], { timeoutMs: 60_000 });
    expect(q.code, `cloud-init query --all failed: ${q.stderr}`).toBe(0);
    const all = JSON.parse(q.stdout) as Record<string, any>;
    if (process.env.GG_DUMP) console.log(JSON.stringify(all.ds, null, 1));

    expect(all.platform).toBe('lxd');
    expect(all.instance_id ?? all.v1?.instance_id).toBe(instanceId);
    expect(all.local_hostname ?? all.v1?.local_hostname).toBe(NAME);
    // The raw documents guestgate served, as cloud-init stored them.
    expect(all.ds['meta-data']).toBe(
      `#cloud-config\ninstance-id: ${instanceId}\nlocal-hostname: ${NAME}\npublic-keys:\n  - ssh-ed25519 AAAAC3Nza test@example\n`,
    );
    expect(all.ds.config).toEqual({
      'cloud-init.user-data': USER_DATA,
      'cloud-init.vendor-data': VENDOR_DATA,
      'user.meta-data': 'public-keys:\n  - ssh-ed25519 AAAAC3Nza test@example\n',
      'user.role': 'db',
    });
    expect(all.ds.devices).toEqual({ root: { path: '/', pool: 'default', type: 'disk' } }); // the /dev/lxd plumbing is not shown
    expect(all.userdata).toBe(USER_DATA);
    expect(all.vendordata).toBe(VENDOR_DATA);

    // It really asked guestgate (LXD's devlxd is off in this container).
    const log = await c!.exec(['sh', '-c', 'grep -c "http://lxd/1.0" /var/log/cloud-init.log || true']);
    expect(Number(log.stdout.trim())).toBeGreaterThan(0);
    const own = await c!.exec(['sh', '-c', 'test -S /dev/lxd/sock && echo sock']);
    expect(own.stdout.trim()).toBe('sock');
  }, 180_000);
});
