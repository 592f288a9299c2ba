// Pure parts of the LXD/Incus inventory source: LXD JSON -> Instance, lifecycle event -> action.
import { describe, expect, it } from 'vitest';
import { eventAction, parseSource } from '../../src/inventory/sources/lxd/events.ts';
import { frontedView, GUEST_API_NAMES, instanceFromLxd, lxcCgroup } from '../../src/inventory/sources/lxd/map.ts';

const c1 = {
  name: 'c1',
  project: 'default',
  type: 'container',
  location: 'none',
  status: 'Running',
  profiles: ['default'],
  expanded_config: { 'user.foo': 'bar', 'volatile.cloud-init.instance-id': 'abc', 'limits.cpu': '2' },
  expanded_devices: { root: { path: '/', pool: 'default', type: 'disk' } },
};

describe('instanceFromLxd', () => {
  it('maps a running container in project default', () => {
    const i = instanceFromLxd(c1, 'default', 4242)!;
    expect(i.key).toBe('c1');
    expect(i.project).toBe('default');
    expect(i.type).toBe('container');
    expect(i.location).toBe('none');
    expect(i.config).toEqual(c1.expanded_config);
    expect(i.devices).toEqual(c1.expanded_devices);
    expect(i.identity.initPid).toBe(4242);
    expect(i.identity.cgroup).toBe('/lxc.payload.c1');
    expect(i.identity.rootUid).toBeUndefined();
  });

  it('uses <project>_<name> for the key and cgroup outside project default', () => {
    const i = instanceFromLxd({ ...c1, project: 'p1' }, 'default', 7)!;
    expect(i.key).toBe('p1_c1');
    expect(i.identity.cgroup).toBe('/lxc.payload.p1_c1');
    expect(lxcCgroup('default', 'x')).toBe('/lxc.payload.x');
  });

  it('falls back to the configured project when the server omits it', () => {
    expect(instanceFromLxd({ ...c1, project: undefined }, 'p2')!.key).toBe('p2_c1');
  });

  it('has no init pid when stopped, whatever the state said', () => {
    expect(instanceFromLxd({ ...c1, status: 'Stopped' }, 'default', 4242)!.identity.initPid).toBeUndefined();
    expect(instanceFromLxd({ ...c1, status: 'Running' }, 'default', 0)!.identity.initPid).toBeUndefined();
  });

  it('ties no host process to a VM', () => {
    const i = instanceFromLxd({ ...c1, type: 'virtual-machine' }, 'default', 99)!;
    expect(i.type).toBe('virtual-machine');
    expect(i.identity.initPid).toBeUndefined();
    expect(i.identity.cgroup).toBeUndefined();
  });

  it('keeps only string values and a clustered location', () => {
    const i = instanceFromLxd(
      {
        ...c1,
        location: 'node2',
        expanded_config: { a: 'x', b: 3, c: null },
        expanded_devices: { d: { type: 'nic', mtu: 1500 } },
      },
      'default',
    )!;
    expect(i.location).toBe('node2');
    expect(i.config).toEqual({ a: 'x' });
    expect(i.devices).toEqual({ d: { type: 'nic' } });
  });

  it('rejects an item without a name', () => {
    expect(instanceFromLxd({ ...c1, name: '' }, 'default')).toBeUndefined();
    expect(instanceFromLxd({}, 'default')).toBeUndefined();
  });

  it('guestgate fronting: the /dev/lxd disk is hidden and security.devlxd=false means on', () => {
    const fronted = {
      ...c1,
      expanded_config: { ...c1.expanded_config, 'security.devlxd': 'false' },
      expanded_devices: {
        ...c1.expanded_devices,
        gg: { type: 'disk', source: '/run/guestgate/devlxd', path: '/dev/lxd/' },
      },
    };
    const i = instanceFromLxd(fronted, 'default', 1)!;
    expect(i.devices).toEqual(c1.expanded_devices);
    expect(i.config['security.devlxd']).toBeUndefined();
    // Without the device, security.devlxd=false stays: the guest API is off.
    const off = instanceFromLxd({ ...fronted, expanded_devices: c1.expanded_devices }, 'default', 1)!;
    expect(off.config['security.devlxd']).toBe('false');
    // Incus names.
    const v = frontedView(
      { 'security.guestapi': 'false' },
      { g: { type: 'disk', path: '/dev/incus' } },
      GUEST_API_NAMES.incus,
    );
    expect(v).toEqual({ config: {}, devices: {} });
    // An Incus guest also gets the socket at /dev/lxd (for cloud-init): that device is plumbing too.
    const both = frontedView(
      { 'security.guestapi': 'false' },
      {
        'guestgate-incus': { type: 'disk', path: '/dev/incus' },
        'guestgate-lxd': { type: 'disk', path: '/dev/lxd' },
        data: { type: 'disk', path: '/srv' },
      },
      GUEST_API_NAMES.incus,
    );
    expect(both).toEqual({ config: {}, devices: { data: { type: 'disk', path: '/srv' } } });
  });
});

describe('lifecycle events', () => {
  const ev = (action: string, source: string, extra: Record<string, unknown> = {}, project = 'default') => ({
    type: 'lifecycle',
    project,
    metadata: { action, source, ...extra },
  });
  const onlyDefault = (p: string) => p === 'default';

  it('parses event sources', () => {
    expect(parseSource('/1.0/instances/c1')).toEqual({ collection: 'instances', name: 'c1', project: undefined });
    expect(parseSource('/1.0/instances/c1?project=p')).toEqual({ collection: 'instances', name: 'c1', project: 'p' });
    expect(parseSource('/1.0/profiles/default')).toEqual({
      collection: 'profiles',
      name: 'default',
      project: undefined,
    });
    expect(parseSource('/1.0/instances/c1/snapshots/s0')).toBeUndefined();
    expect(parseSource('/1.0/images/abc')).toBeUndefined();
  });

  it('re-reads on start/stop/update/create', () => {
    for (const a of [
      'instance-created',
      'instance-started',
      'instance-stopped',
      'instance-updated',
      'instance-restarted',
      'instance-restored',
    ])
      expect(eventAction(ev(a, '/1.0/instances/c1'), onlyDefault)).toEqual({
        kind: 'reread',
        project: 'default',
        name: 'c1',
        samePid: a === 'instance-updated',
      });
  });

  it('removes on delete and splits a rename', () => {
    expect(eventAction(ev('instance-deleted', '/1.0/instances/c1'), onlyDefault)).toEqual({
      kind: 'remove',
      project: 'default',
      name: 'c1',
    });
    expect(
      eventAction(ev('instance-renamed', '/1.0/instances/c2', { context: { old_name: 'c1' } }), onlyDefault),
    ).toEqual({
      kind: 'rename',
      project: 'default',
      oldName: 'c1',
      name: 'c2',
    });
  });

  it('follows profile updates', () => {
    expect(eventAction(ev('profile-updated', '/1.0/profiles/default'), onlyDefault)).toEqual({
      kind: 'profile',
      project: 'default',
      profile: 'default',
    });
    expect(eventAction(ev('profile-created', '/1.0/profiles/x'), onlyDefault)).toEqual({ kind: 'ignore' });
  });

  it('ignores exec, snapshots, other projects, other event types and junk', () => {
    expect(eventAction(ev('instance-exec', '/1.0/instances/c1'), onlyDefault).kind).toBe('ignore');
    expect(eventAction(ev('instance-snapshot-created', '/1.0/instances/c1/snapshots/s0'), onlyDefault).kind).toBe(
      'ignore',
    );
    expect(eventAction(ev('instance-updated', '/1.0/instances/c1?project=p', {}, 'p'), onlyDefault).kind).toBe(
      'ignore',
    );
    expect(eventAction(ev('instance-updated', '/1.0/instances/c1?project=p', {}, 'p'), () => true)).toEqual({
      kind: 'reread',
      project: 'p',
      name: 'c1',
      samePid: true,
    });
    expect(eventAction({ type: 'logging', metadata: {} }, onlyDefault).kind).toBe('ignore');
    expect(eventAction({ type: 'lifecycle', metadata: null }, onlyDefault).kind).toBe('ignore');
    expect(eventAction({ type: 'lifecycle' }, onlyDefault).kind).toBe('ignore');
  });
});
