// The real cloud-init 22.4.2 in a real LXD 5.0.2 container whose NoCloud seed folder guestgate wrote
// with `guestgate seed --rootfs <the container's rootfs> --trigger create` (LXD's devlxd off, so only
// the seed folder can answer): it boots through DataSourceNoCloud and `cloud-init query` reports
// the instance-id, hostname, user-data (non-ASCII) and vendor-data from the instance record.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import yaml from 'js-yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Container, launchContainer, lxdAvailable } from '../interop/lxd-harness.ts';
import { cli } from '../helpers/service.ts';

const NAME = 'ggt-t2-ci';
const USER_DATA = '#cloud-config\n# olá, ação, 日本語 ✓\nruncmd:\n  - echo "são paulo" > /tmp/hi\n';
const VENDOR_DATA = '#cloud-config\ntimezone: UTC\n';
const ID = '7b0c3c52-6a3e-4f7e-9a55-2f1d7c9e0b11';
const dir = mkdtempSync(join(tmpdir(), 'ggt-ci-'));
let c: Container | undefined;

beforeAll(async () => {
  const lxd = await lxdAvailable();
  if (!lxd.ok) throw new Error(`this test needs the real LXD 5.0.2: ${lxd.why}`);
  c = await launchContainer(NAME, { replace: true, config: { 'security.devlxd': 'false' } });
}, 300_000);

afterAll(async () => {
  await c?.delete();
  rmSync(dir, { recursive: true, force: true });
}, 120_000);

describe('cloud-init 22.4.2 through a seed folder written by `guestgate seed --rootfs`', () => {
  it('boots through NoCloud with the instance record values', async () => {
    const cfg = await c!.expandedConfig();
    // The container's root on the host, from LXD's current id map (what LXD chowns new files to).
    const map = JSON.parse(cfg.config['volatile.idmap.current'] ?? '[]') as {
      Isuid: boolean;
      Isgid: boolean;
      Hostid: number;
      Nsid: number;
    }[];
    const uid = map.find((m) => m.Isuid && m.Nsid === 0)?.Hostid ?? 0;
    const gid = map.find((m) => m.Isgid && m.Nsid === 0)?.Hostid ?? 0;
    const record = {
      name: NAME,
      type: 'container',
      config: {
        'cloud-init.user-data': USER_DATA,
        'user.vendor-data': VENDOR_DATA,
        'user.meta-data': 'public-keys:\n  - ssh-ed25519 AAAAC3Nza test@example\n',
        'volatile.cloud-init.instance-id': ID,
      },
      devices: {},
      identity: {},
    };
    const file = join(dir, `${NAME}.yaml`);
    writeFileSync(file, yaml.dump(record));
    const rootfs = `/var/lib/lxd/storage-pools/default/containers/${NAME}/rootfs`;
    const s = await cli(
      ['seed', '--from-file', file, '--rootfs', rootfs, '--trigger', 'create', '--owner', `${uid}:${gid}`],
      { GUESTGATE_CONFIG: '/nonexistent.yaml' },
    );
    expect(s.code, s.stderr).toBe(0);
    expect(s.stdout).toMatch(/create\s+\/var\/lib\/cloud\/seed\/nocloud-net\/user-data\s+created/);
    const modes = await c!.exec([
      'stat',
      '-c',
      '%a %u %n',
      '/var/lib/cloud/seed/nocloud-net/meta-data',
      '/etc/hostname',
    ]);
    expect(modes.stdout).toMatch(/^644 0 \/var\/lib\/cloud\/seed\/nocloud-net\/meta-data\n/);

    const init = await c!.exec(['cloud-init', 'init', '--local'], { timeoutMs: 90_000 });
    expect(init.code, `cloud-init init --local failed: ${init.stderr}`).toBe(0);
    const net = await c!.exec(['cloud-init', 'init'], { timeoutMs: 90_000 });
    expect(net.code, `cloud-init init failed: ${net.stderr}`).toBe(0);
    const q = await c!.exec(['cloud-init', 'query', '--all'], { timeoutMs: 60_000 });
    expect(q.code, `cloud-init query --all failed: ${q.stderr}`).toBe(0);
    const all = JSON.parse(q.stdout) as Record<string, any>;
    expect(all.platform ?? all.v1?.platform).toBe('nocloud');
    expect(all.instance_id ?? all.v1?.instance_id).toBe(ID);
    expect(all.local_hostname ?? all.v1?.local_hostname).toBe(NAME);
    expect(all.ds.meta_data['public-keys']).toEqual(['ssh-ed25519 AAAAC3Nza test@example']);
    expect(all.userdata).toBe(USER_DATA);
    expect(all.vendordata).toBe(VENDOR_DATA);
    const ds = await c!.exec(['cloud-init', 'query', 'subplatform']);
    expect(ds.stdout).toContain('/var/lib/cloud/seed/nocloud-net');
  }, 300_000);
});
