import { describe, expect, it } from 'vitest';
import type { LxdInstance } from '../../src/lxd/api.ts';
import { applySteps, attachPlan, describeStep, detachPlan } from '../../src/lxd/attach-plan.ts';

const DIR = '/run/guestgate/devlxd';
const root = { root: { type: 'disk', path: '/', pool: 'default' } };

const inst = (over: Partial<Record<keyof LxdInstance, unknown>> = {}): LxdInstance => ({
  name: 'c1',
  type: 'container',
  config: {},
  devices: {},
  expanded_config: {},
  expanded_devices: { ...root },
  ...over,
});

describe('attach plan', () => {
  it('LXD: switch off first, then one device at /dev/lxd', () => {
    const p = attachPlan(inst(), 'c1', 'lxd', `${DIR}/`);
    expect(p.steps).toEqual([
      { kind: 'set', key: 'security.devlxd', value: 'false' },
      { kind: 'add-device', name: 'guestgate-lxd', device: { type: 'disk', source: DIR, path: '/dev/lxd' } },
    ]);
    expect(p.steps.map(describeStep)).toEqual([
      'set security.devlxd=false',
      `added device guestgate-lxd (disk ${DIR} at /dev/lxd)`,
    ]);
  });

  it('Incus: security.guestapi, and devices at /dev/incus AND /dev/lxd', () => {
    const p = attachPlan(inst(), 'c1', 'incus', DIR);
    expect(p.steps.map(describeStep)).toEqual([
      'set security.guestapi=false',
      `added device guestgate-incus (disk ${DIR} at /dev/incus)`,
      `added device guestgate-lxd (disk ${DIR} at /dev/lxd)`,
    ]);
  });

  it('is idempotent: an attached instance (also via a profile, under another name) needs nothing', () => {
    const attached = inst({
      config: { 'security.devlxd': 'false' },
      expanded_config: { 'security.devlxd': 'false' },
      devices: { 'guestgate-lxd': { type: 'disk', source: DIR, path: '/dev/lxd' } },
      expanded_devices: { ...root, 'guestgate-lxd': { type: 'disk', source: DIR, path: '/dev/lxd' } },
    });
    expect(attachPlan(attached, 'c1', 'lxd', DIR).steps).toEqual([]);
    const byProfile = inst({
      expanded_config: { 'security.devlxd': 'Off' },
      expanded_devices: { ...root, gg: { type: 'disk', source: `${DIR}/`, path: '/dev/lxd/' } },
    });
    const p = attachPlan(byProfile, 'c1', 'lxd', DIR);
    expect(p.steps).toEqual([]);
    expect(p.notes).toEqual([`device gg already mounts ${DIR} at /dev/lxd`]);
  });

  it('replaces its own device when the socket folder moved; refuses a foreign device at the path', () => {
    const moved = inst({
      expanded_config: { 'security.devlxd': 'false' },
      devices: { 'guestgate-lxd': { type: 'disk', source: '/old', path: '/dev/lxd' } },
      expanded_devices: { 'guestgate-lxd': { type: 'disk', source: '/old', path: '/dev/lxd' } },
    });
    expect(attachPlan(moved, 'c1', 'lxd', DIR).steps).toEqual([
      { kind: 'add-device', name: 'guestgate-lxd', device: { type: 'disk', source: DIR, path: '/dev/lxd' } },
    ]);
    const foreign = inst({ expanded_devices: { mine: { type: 'disk', source: '/srv/x', path: '/dev/lxd' } } });
    expect(() => attachPlan(foreign, 'c1', 'lxd', DIR)).toThrow(
      /c1: device mine already uses \/dev\/lxd \(source \/srv\/x\); remove it first/,
    );
  });

  it('refuses a VM with a clear message and code E_BAD_REQUEST', () => {
    const vm = inst({ type: 'virtual-machine' });
    expect(() => attachPlan(vm, 'p/v1', 'lxd', DIR)).toThrow(/p\/v1 is a virtual machine: .*vsock/);
    try {
      detachPlan(vm, 'v1', 'incus', DIR);
      expect.unreachable();
    } catch (e) {
      expect((e as { code?: string }).code).toBe('E_BAD_REQUEST');
    }
  });
});

describe('detach plan', () => {
  it('removes exactly its own devices first, then unsets the switch it set', () => {
    const m = inst({
      config: { 'security.guestapi': 'false', 'user.x': '1' },
      devices: {
        'guestgate-incus': { type: 'disk', source: DIR, path: '/dev/incus' },
        'guestgate-lxd': { type: 'disk', source: DIR, path: '/dev/lxd' },
        data: { type: 'disk', source: '/srv', path: '/srv' },
      },
      expanded_devices: { other: { type: 'disk', source: DIR, path: '/mnt/gg' } },
    });
    const p = detachPlan(m, 'c1', 'incus', DIR);
    expect(p.steps.map(describeStep)).toEqual([
      'removed device guestgate-incus',
      'removed device guestgate-lxd',
      'unset security.guestapi',
    ]);
    expect(p.notes).toEqual([`device other (not added by attach) still mounts ${DIR} at /mnt/gg: left alone`]);
    expect(applySteps(m, p.steps)).toEqual({
      config: { 'user.x': '1' },
      devices: { data: { type: 'disk', source: '/srv', path: '/srv' } },
    });
  });

  it('a detached instance needs nothing; a switch left on is not touched', () => {
    expect(detachPlan(inst({ config: { 'security.devlxd': 'true' } }), 'c1', 'lxd', DIR).steps).toEqual([]);
  });
});
