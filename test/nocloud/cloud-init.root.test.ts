// The real cloud-init 22.4.2 NoCloud network datasource against guestgate's HTTP seed, from a process
// in its own network namespace with its own address (10.203.0.2 over a veth pair that this test
// creates and deletes), so identification by source address is real. Needs root, iproute2 and
// cloud-init (apt-get install cloud-init); when missing, the test FAILS naming what is missing.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Service } from '../../src/service.ts';
import { ensureAptPackage, http, inProcess, layout, type Layout } from '../helpers/service.ts';

const PY = '/usr/bin/python3';
const PROBE = join(import.meta.dirname, 'cloudinit_probe.py');
const tag = String(process.pid % 100000);
const NS = `ggnc${tag}`;
const HOST_IF = `gghv${tag}`;
const NS_IF = `ggnv${tag}`;
const HOST_IP = '10.203.0.1';
const NS_IP = '10.203.0.2';

function missing(): string | undefined {
  if (process.getuid?.() !== 0) return 'root (network namespaces need it)';
  if (spawnSync('ip', ['-V']).error) return 'the ip command (apt-get install iproute2)';
  if (!existsSync(PY)) return `${PY}`;
  return ensureAptPackage('cloud-init', '/usr/lib/python3/dist-packages/cloudinit/sources/DataSourceNoCloud.py');
}

const ip = (...args: string[]) => execFileSync('ip', args, { stdio: 'pipe' });

let l: Layout;
let svc: Service | undefined;
let port = 0;
const USER_DATA = '#cloud-config\nruncmd:\n  - echo "héllo from guestgate" > /run/hello\n';
const VENDOR_DATA = '#cloud-config\ntimezone: Europe/Paris\n';

beforeAll(async () => {
  const why = missing();
  if (why)
    throw new Error(
      `cloud-init interop test needs ${why}; it is part of CI, which runs as root with cloud-init installed`,
    );
  spawnSync('ip', ['netns', 'del', NS]);
  ip('netns', 'add', NS);
  ip('link', 'add', HOST_IF, 'type', 'veth', 'peer', 'name', NS_IF);
  ip('link', 'set', NS_IF, 'netns', NS);
  ip('addr', 'add', `${HOST_IP}/30`, 'dev', HOST_IF);
  ip('link', 'set', HOST_IF, 'up');
  ip('netns', 'exec', NS, 'ip', 'addr', 'add', `${NS_IP}/30`, 'dev', NS_IF);
  ip('netns', 'exec', NS, 'ip', 'link', 'set', NS_IF, 'up');
  ip('netns', 'exec', NS, 'ip', 'link', 'set', 'lo', 'up');
  l = layout(
    {
      demo: 'name: demo\nidentity: {}\n',
      vm1: [
        'name: vm1',
        'type: virtual-machine',
        'config:',
        '  volatile.cloud-init.instance-id: 8d1f6a3e-0c2b-4f55-9a51-7b0e3c2d1a99',
        `  cloud-init.user-data: ${JSON.stringify(USER_DATA)}`,
        '  user.user-data: "#cloud-config\\n# must lose to cloud-init.user-data\\n"',
        `  cloud-init.vendor-data: ${JSON.stringify(VENDOR_DATA)}`,
        '  user.meta-data: "public-keys:\\n  - ssh-ed25519 AAAAC3Nza test@host\\nrack: r7\\n"',
        'identity:',
        `  addresses: [${NS_IP}]`,
        '',
      ].join('\n'),
      vm2: 'name: vm2\ntype: virtual-machine\nconfig:\n  cloud-init.user-data: "#cloud-config\\n# by token\\n"\nidentity:\n  nocloud_token: Zk3q9V0x_pL2-mN8rT4wY6uB\n',
    },
    `nocloud:\n  listen: "${HOST_IP}:0"\n`,
  );
  svc = await inProcess(l);
  port = Number(svc.nocloud!.address.split(':').pop());
}, 300_000);

afterAll(async () => {
  await svc?.stop();
  l?.cleanup();
  spawnSync('ip', ['link', 'del', HOST_IF]);
  spawnSync('ip', ['netns', 'del', NS]);
});

/** Async: the gateway runs in this process and must keep answering while cloud-init fetches. */
function probe(seed: string): Promise<any> {
  return new Promise((resolve, reject) => {
    const p = spawn('ip', ['netns', 'exec', NS, PY, PROBE, seed], {
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 60_000,
    });
    let out = '';
    let err = '';
    p.stdout.on('data', (c: Buffer) => (out += c));
    p.stderr.on('data', (c: Buffer) => (err += c));
    p.on('close', (code) => {
      if (code !== 0) reject(new Error(`cloud-init probe failed (${code}): ${err}`));
      else resolve(JSON.parse(out.trim().split('\n').pop()!));
    });
  });
}

describe('cloud-init 22.4.2 DataSourceNoCloudNet', () => {
  it('identified by its source address: reads meta-data, user-data and vendor-data exactly as set', async () => {
    const r = await probe(`http://${HOST_IP}:${port}/`);
    expect(r.version).toBe('22.4.2');
    expect(r.ok).toBe(true);
    expect(r.instance_id).toBe('8d1f6a3e-0c2b-4f55-9a51-7b0e3c2d1a99');
    expect(r.metadata).toMatchObject({
      'instance-id': '8d1f6a3e-0c2b-4f55-9a51-7b0e3c2d1a99',
      'local-hostname': 'vm1',
      'public-keys': ['ssh-ed25519 AAAAC3Nza test@host'],
      rack: 'r7',
    });
    expect(r.userdata_raw).toBe(USER_DATA);
    expect(r.vendordata_raw).toBe(VENDOR_DATA);
    // No retry stalls: every file cloud-init asked for was answered 200 on the first try (no repeats).
    const metrics = (await http(l.adminSock, 'GET', '/metrics')).text;
    const counts = [...metrics.matchAll(/^guestgate_nocloud_requests_total\{file="([^"]+)",status="(\d+)"\} (\d+)$/gm)];
    expect(counts.map((m) => `${m[1]} ${m[2]} ${m[3]}`).sort()).toEqual(
      expect.arrayContaining(['meta-data 200 1', 'user-data 200 1', 'vendor-data 200 1']),
    );
    expect(counts.filter((m) => m[2] !== '200' || m[3] !== '1').map((m) => m[0])).toEqual([]);
  });

  it('identified by its capability URL', async () => {
    const r = await probe(`http://${HOST_IP}:${port}/nocloud/Zk3q9V0x_pL2-mN8rT4wY6uB/`);
    expect(r.ok).toBe(true);
    expect(r.metadata).toMatchObject({ 'instance-id': 'vm2', 'local-hostname': 'vm2' });
    expect(r.userdata_raw).toBe('#cloud-config\n# by token\n');
    expect(r.vendordata_raw).toBe('');
  });
});
