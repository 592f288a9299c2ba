// Pure NoCloud renderers: precedence, merged meta-data, default network-config; address parsing;
// request resolution.
import { describe, expect, it } from 'vitest';
import yaml from 'js-yaml';
import { instanceFromDocument } from '../../src/inventory/parse.ts';
import { noCloudFile, noCloudMetaData } from '../../src/cloudinit/seed.ts';
import { defaultNetworkConfig, networkConfig } from '../../src/cloudinit/network-config.ts';
import { withInstanceId } from '../../src/cloudinit/instance-id.ts';
import { parseHostPort } from '../../src/net/address.ts';
import { resolveNoCloud } from '../../src/nocloud/resolve.ts';
import { toNoCloudError } from '../../src/nocloud/http-errors.ts';
import { GuestgateError } from '../../src/errors.ts';

const inst = (doc: Record<string, unknown>) => instanceFromDocument({ identity: {}, ...doc }, 'test');

describe('seed files', () => {
  it('cloud-init.* wins over user.*; unset optional files are empty', () => {
    const i = inst({
      name: 'a',
      config: { 'user.user-data': 'old', 'cloud-init.user-data': 'new', 'user.vendor-data': 'v' },
    });
    expect(noCloudFile(i, 'user-data')).toBe('new');
    expect(noCloudFile(i, 'vendor-data')).toBe('v');
    expect(noCloudFile(inst({ name: 'b' }), 'vendor-data')).toBe('');
    expect(noCloudFile(inst({ name: 'b' }), 'network-config')).toBe('');
  });

  it('meta-data merges user.meta-data into one valid YAML mapping (user keys last-wins)', () => {
    const i = inst({
      name: 'web',
      config: {
        'volatile.cloud-init.instance-id': 'iid-1',
        'user.meta-data': 'local-hostname: web.example\npublic-keys: [k1]\n',
      },
    });
    const text = noCloudMetaData(i).text;
    expect(text).toBe('instance-id: iid-1\nlocal-hostname: web.example\npublic-keys:\n  - k1\n');
    expect(yaml.load(text)).toEqual({ 'instance-id': 'iid-1', 'local-hostname': 'web.example', 'public-keys': ['k1'] });
  });

  it('leaves out user.meta-data that is not a mapping, with a warning', () => {
    const m = noCloudMetaData(inst({ name: 'w', config: { 'user.meta-data': '- a\n- b\n' } }));
    expect(m.text).toBe('instance-id: w\nlocal-hostname: w\n');
    expect(m.warning).toBe('user.meta-data is not a YAML mapping; left out of meta-data');
    expect(noCloudMetaData(inst({ name: 'w', config: { 'user.meta-data': 'a: [' } })).warning).toMatch(
      /^user\.meta-data is not valid YAML/,
    );
  });
});

describe('network-config', () => {
  it('derives v2 from NICs: MAC match + set-name when the MAC is known, name-only for containers', () => {
    const i = inst({
      name: 'n',
      config: { 'volatile.eth1.hwaddr': '00:16:3E:AA:BB:CC' },
      devices: {
        eth0: { type: 'nic', name: 'eth0' },
        eth1: { type: 'nic', name: 'lan' },
        root: { type: 'disk', path: '/' },
      },
    });
    expect(yaml.load(defaultNetworkConfig(i))).toEqual({
      version: 2,
      ethernets: {
        eth0: { dhcp4: true },
        lan: { match: { macaddress: '00:16:3e:aa:bb:cc' }, 'set-name': 'lan', dhcp4: true },
      },
    });
  });

  it('leaves out VM NICs without a MAC; an explicit network-config wins', () => {
    expect(defaultNetworkConfig(inst({ name: 'v', type: 'virtual-machine', devices: { eth0: { type: 'nic' } } }))).toBe(
      '',
    );
    expect(
      networkConfig(inst({ name: 'v', config: { 'user.network-config': 'u', 'cloud-init.network-config': 'c' } })),
    ).toBe('c');
  });
});

describe('instance-id lifecycle', () => {
  const gen = () => 'NEW';
  const base = inst({
    name: 'x',
    config: { 'volatile.cloud-init.instance-id': 'old', 'user.a': '1' },
    devices: { eth0: { type: 'nic', name: 'eth0' } },
  });
  it('new on create without one; kept for user.* changes; renewed for cloud-init data and NIC names', () => {
    expect(withInstanceId(undefined, inst({ name: 'y' }), gen).config['volatile.cloud-init.instance-id']).toBe('NEW');
    expect(
      withInstanceId(base, inst({ ...docOf(base), config: { ...base.config, 'user.a': '2' } }), gen).config[
        'volatile.cloud-init.instance-id'
      ],
    ).toBe('old');
    expect(
      withInstanceId(base, inst({ ...docOf(base), config: { ...base.config, 'cloud-init.user-data': 'u' } }), gen)
        .config['volatile.cloud-init.instance-id'],
    ).toBe('NEW');
    expect(
      withInstanceId(base, inst({ ...docOf(base), devices: { eth0: { type: 'nic', name: 'ens3' } } }), gen).config[
        'volatile.cloud-init.instance-id'
      ],
    ).toBe('NEW');
    // the writer set it: kept as written
    expect(
      withInstanceId(
        base,
        inst({ ...docOf(base), config: { 'volatile.cloud-init.instance-id': 'mine', 'cloud-init.user-data': 'u' } }),
        gen,
      ).config['volatile.cloud-init.instance-id'],
    ).toBe('mine');
  });
});

const docOf = (i: ReturnType<typeof inst>) => ({ name: i.name, config: i.config, devices: i.devices });

describe('addresses and resolution', () => {
  it.each([
    ['10.0.0.1:8080', { host: '10.0.0.1', port: 8080 }],
    ['[fd00::1]:80', { host: 'fd00::1', port: 80 }],
    [':8080', { host: '::', port: 8080 }],
    ['localhost:0', { host: 'localhost', port: 0 }],
  ])('parses %s', (s, want) => expect(parseHostPort(s)).toEqual(want));

  it.each(['10.0.0.1', '10.0.0.1:99999', 'fd00::1:80', ''])('refuses %j', (s) =>
    expect(() => parseHostPort(s)).toThrow(/invalid listen address/),
  );

  const a = inst({ name: 'a' });
  const lookup = {
    byAddress: (x: string) => (x === '10.0.0.2' ? a : undefined),
    byToken: (t: string) => (t === 'tok' ? a : undefined),
  };
  it('resolves by address, by token, and refuses the rest', () => {
    expect(resolveNoCloud('/meta-data', '10.0.0.2', ['address', 'token'], lookup)).toMatchObject({
      ok: true,
      by: 'address',
      file: 'meta-data',
    });
    expect(resolveNoCloud('/seed/x/user-data', '10.0.0.2', ['address'], lookup)).toMatchObject({
      ok: true,
      file: 'user-data',
    });
    expect(resolveNoCloud('/nocloud/tok/vendor-data', '10.9.9.9', ['token'], lookup)).toMatchObject({
      ok: true,
      by: 'token',
    });
    expect(resolveNoCloud('/nocloud/bad/vendor-data', '10.0.0.2', ['token'], lookup)).toMatchObject({
      ok: false,
      status: 403,
    });
    expect(resolveNoCloud('/meta-data', '10.0.0.3', ['address'], lookup)).toMatchObject({ ok: false, status: 403 });
    expect(resolveNoCloud('/meta-data', '10.0.0.2', ['token'], lookup)).toMatchObject({ ok: false, status: 404 });
    expect(resolveNoCloud('/etc/passwd', '10.0.0.2', ['address'], lookup)).toMatchObject({ ok: false, status: 404 });
  });
});

describe('NoCloud errors through one mapper', () => {
  it('status line words plus the reason; 405 with Allow; anything unexpected is a bare 500', () => {
    expect(toNoCloudError(new GuestgateError('E_FORBIDDEN', 'unknown token'))).toEqual({
      status: 403,
      body: '403 Forbidden: unknown token\n',
      headers: {},
    });
    expect(toNoCloudError(new GuestgateError('E_NOT_FOUND', 'token URLs are not enabled')).body).toBe(
      '404 Not Found: token URLs are not enabled\n',
    );
    expect(toNoCloudError(new GuestgateError('E_METHOD_NOT_ALLOWED', 'GET and HEAD only'))).toEqual({
      status: 405,
      body: '405 Method Not Allowed\n',
      headers: { Allow: 'GET, HEAD' },
    });
    expect(toNoCloudError(new Error('boom'))).toEqual({
      status: 500,
      body: '500 Internal Server Error\n',
      headers: {},
    });
  });
});
