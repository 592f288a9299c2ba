// Pure parts of member mode (LXD/Incus clusters): which instances a gateway on one member may tie to
// local processes, and how it learns its member name.
import { describe, expect, it } from 'vitest';
import { lostReason, placementOf, remoteView, resolveMember } from '../../src/inventory/sources/lxd/member.ts';
import { instanceFromLxd } from '../../src/inventory/sources/lxd/map.ts';
import { workFor } from '../../src/inventory/sources/lxd/work.ts';

const on = (location: unknown, status = 'Running') => ({ name: 'c1', type: 'container', location, status });

describe('placementOf (the location filter)', () => {
  it('standalone (no member): every instance is local, whatever its location says', () => {
    expect(placementOf(on('none'), undefined)).toBe('local');
    expect(placementOf(on(''), undefined)).toBe('local');
    expect(placementOf(on('m2'), undefined)).toBe('local');
  });

  it('member mode: only this member is local; another member, none, empty or missing are remote', () => {
    expect(placementOf(on('m1'), 'm1')).toBe('local');
    expect(placementOf(on('m2'), 'm1')).toBe('remote');
    expect(placementOf(on('none'), 'm1')).toBe('remote');
    expect(placementOf(on(''), 'm1')).toBe('remote');
    expect(placementOf(on(undefined), 'm1')).toBe('remote');
    expect(placementOf(on(42), 'm1')).toBe('remote');
    expect(placementOf(on('M1'), 'm1'), 'member names are compared exactly').toBe('remote');
  });

  it('this member reported in Error (its daemon down) is lost: served from last known state', () => {
    expect(placementOf(on('m1', 'Error'), 'm1')).toBe('lost');
    expect(placementOf(on('m2', 'Error'), 'm1')).toBe('remote');
    expect(placementOf(on('m1', 'Stopped'), 'm1')).toBe('local');
  });
});

describe('remoteView', () => {
  it('keeps config, devices and location; drops every kernel fact (pid, cgroup)', () => {
    const i = instanceFromLxd(
      { ...on('m2'), expanded_config: { 'user.a': 'b' }, expanded_devices: {} },
      'default',
      4242,
    )!;
    expect(i.identity.initPid).toBe(4242);
    expect(i.identity.cgroup).toBe('/lxc.payload.c1');
    const r = remoteView(i);
    expect(r.identity).toEqual({});
    expect(r.location).toBe('m2');
    expect(r.config).toEqual({ 'user.a': 'b' });
    expect(r.key).toBe('c1');
    expect(Object.isFrozen(r) && Object.isFrozen(r.identity)).toBe(true);
  });
});

describe('resolveMember', () => {
  it('a clustered server: its own server_name, unless configured', () => {
    expect(resolveMember(undefined, { clustered: true, serverName: 'm1' })).toBe('m1');
    expect(resolveMember('m2', { clustered: true, serverName: 'm1' })).toBe('m2');
  });

  it('a standalone server: no member; a configured one is a config error naming the key', () => {
    expect(resolveMember(undefined, { clustered: false, serverName: 'host' })).toBeUndefined();
    expect(() => resolveMember('m1', { clustered: false, serverName: 'host' })).toThrow(/inventory\.member/);
  });

  it('a clustered server without a name asks for inventory.member', () => {
    expect(() => resolveMember(undefined, { clustered: true, serverName: undefined })).toThrow(/inventory\.member/);
  });
});

describe('lostReason and workFor', () => {
  it('names the member and the instances, sorted', () => {
    expect(lostReason('m1', new Set(['b', 'a']))).toBe(
      'cluster reports member m1 in error; 2 instance(s) served from last known state: a, b',
    );
  });

  it('a move (deleted on the old member, renamed from lxd-move-of-* on the new one) drops the old record first', () => {
    expect(workFor({ kind: 'remove', project: 'default', name: 'c1' }, [])).toEqual([
      ['c1', { kind: 'remove', project: 'default', name: 'c1' }],
    ]);
    expect(workFor({ kind: 'rename', project: 'default', oldName: 'lxd-move-of-x', name: 'c1' }, [])).toEqual([
      ['lxd-move-of-x', { kind: 'remove', project: 'default', name: 'lxd-move-of-x' }],
      ['c1', { kind: 'reread', project: 'default', name: 'c1' }],
    ]);
  });
});
