import { describe, expect, it } from 'vitest';
import { instanceEvents } from '../../src/guest/events/diff.ts';
import { encodeEvent, parseTypeFilter, rfc3339Nano } from '../../src/guest/events/encode.ts';
import { BoundedSender } from '../../src/guest/events/sender.ts';
import { EventBudget } from '../../src/guest/events/budget.ts';

const B = (s: string): Buffer => Buffer.from(s);
import { parseInstanceYaml } from '../../src/inventory/parse.ts';

const inst = (y: string) => parseInstanceYaml(`name: c1\n${y}`, 'c1.yaml');

describe('event diff', () => {
  it('emits config events for user.* only, with old and new values', () => {
    const ev = instanceEvents(
      inst('config: {user.foo: bar, security.nesting: "true", cloud-init.vendor-data: a}\n'),
      inst('config: {user.foo: baz, user.new: "1", security.nesting: "false", cloud-init.vendor-data: b}\n'),
      { deviceUpdate: 'updated' },
    );
    expect(ev).toEqual([
      { type: 'config', metadata: { key: 'user.foo', old_value: 'bar', value: 'baz' } },
      { type: 'config', metadata: { key: 'user.new', old_value: '', value: '1' } },
    ]);
  });

  it('emits device removed, updated, added; or removed+added for an update (LXD 5.0.2)', () => {
    const a = inst('devices: {gone: {type: disk, path: /a}, upd: {type: disk, path: /u}}\n');
    const b = inst('devices: {upd: {type: disk, path: /u, readonly: "true"}, new: {type: disk, path: /n}}\n');
    expect(
      instanceEvents(a, b, { deviceUpdate: 'updated' }).map(
        (e) => `${(e.metadata as { action: string }).action}:${(e.metadata as { name: string }).name}`,
      ),
    ).toEqual(['removed:gone', 'updated:upd', 'added:new']);
    const legacy = instanceEvents(
      inst('devices: {mydisk: {type: disk, path: /mnt/tmp, source: /tmp}}\n'),
      inst('devices: {mydisk: {type: disk, path: /mnt/tmp, source: /tmp, readonly: "true"}}\n'),
      {
        deviceUpdate: 'remove-add',
      },
    );
    expect(legacy.map((e) => (e.metadata as { action: string }).action)).toEqual(['removed', 'added']);
    expect((legacy[0]!.metadata as { config: Record<string, string> }).config.readonly).toBeUndefined();
  });
});

describe('event encoding', () => {
  it('matches the frames LXD 5.0.2 sent (timestamp aside)', () => {
    const line = encodeEvent(
      {
        type: 'device',
        metadata: { action: 'added', config: { type: 'disk', source: '/tmp', path: '/mnt/tmp' }, name: 'mydisk' },
      },
      'T',
    );
    expect(line).toBe(
      '{"type":"device","timestamp":"T","metadata":{"action":"added","config":{"path":"/mnt/tmp","source":"/tmp","type":"disk"},"name":"mydisk"}}\n',
    );
    expect(encodeEvent({ type: 'config', metadata: { key: 'user.x', old_value: '', value: '<1>' } }, 'T')).toBe(
      '{"type":"config","timestamp":"T","metadata":{"key":"user.x","old_value":"","value":"\\u003c1\\u003e"}}\n',
    );
  });
  it('formats RFC3339Nano like Go (trailing zeros trimmed, Z or offset)', () => {
    expect(rfc3339Nano(1_795_044_653_352_137_400n, 0)).toBe('2026-11-18T23:30:53.3521374Z');
    expect(rfc3339Nano(1_795_044_653_000_000_000n, 60)).toBe('2026-11-19T00:30:53+01:00');
  });
  it('parses the type filter without trimming', () => {
    expect([...parseTypeFilter(undefined)]).toEqual(['config', 'device']);
    expect([...parseTypeFilter('config, device')]).toEqual(['config', ' device']);
  });
});

describe('bounded sender', () => {
  it('keeps order and drops a listener that falls too far behind', () => {
    const written: string[] = [];
    const pending: (() => void)[] = [];
    let dropped = '';
    const s = new BoundedSender(
      (l, done) => {
        written.push(l.toString());
        pending.push(() => done());
      },
      { maxQueue: 3, stallMs: 60_000 },
      (r) => (dropped = r),
    );
    s.send(B('a'));
    s.send(B('b'));
    pending.shift()!();
    s.send(B('c'));
    s.send(B('d'));
    expect(written).toEqual(['a', 'b', 'c', 'd']);
    expect(dropped).toBe('');
    s.send(B('e'));
    expect(dropped).toMatch(/too slow/);
    s.close();
  });

  it('drops a listener whose queued bytes would pass maxBytes, but lets one large event through to an idle one', () => {
    const pending: (() => void)[] = [];
    let dropped = '';
    const s = new BoundedSender(
      (_l, done) => void pending.push(() => done()),
      { maxQueue: 1000, stallMs: 60_000, maxBytes: 10 },
      (r) => (dropped = r),
    );
    s.send(B('x'.repeat(25))); // larger than maxBytes, nothing queued: goes out
    expect(s.pendingBytes).toBe(25);
    pending.shift()!();
    expect(s.pendingBytes).toBe(0);
    s.send(B('é'.repeat(3))); // 6 UTF-8 bytes
    s.send(B('abc'));
    expect(s.pendingBytes).toBe(9);
    expect(dropped).toBe('');
    s.send(B('ab'));
    expect(dropped).toMatch(/9 bytes queued, 2 more would pass 10/);
    s.close();
  });

  it('counts a buffer shared by listeners once against the budget, and drops the slowest listener over it', () => {
    const budget = new EventBudget(10);
    const pending = new Map<string, (() => void)[]>();
    const dropped: string[] = [];
    const sender = (name: string) => {
      pending.set(name, []);
      return new BoundedSender(
        (_d, done) => void pending.get(name)!.push(() => done()),
        { maxQueue: 1000, stallMs: 60_000, maxBytes: 100, budget },
        (r) => dropped.push(`${name}: ${r}`),
      );
    };
    const fast = sender('fast');
    const slow = sender('slow');
    const e1 = B('12345');
    fast.send(e1);
    slow.send(e1);
    expect(budget.bytes).toBe(5); // one buffer, two listeners
    pending.get('fast')!.shift()!();
    expect(budget.bytes).toBe(5); // slow still holds it
    const e2 = B('abcd');
    fast.send(e2);
    slow.send(e2);
    expect(budget.bytes).toBe(9);
    pending.get('fast')!.shift()!();
    expect(dropped).toEqual([]);
    const e3 = B('xyz');
    fast.send(e3); // 12 distinct bytes held > 10: the slowest (slow, 9 pending) goes, its buffers are released
    expect(dropped).toHaveLength(1);
    expect(dropped[0]).toMatch(
      /^slow: listener too slow: 9 bytes queued while all listeners hold 12 .*max_total_bytes 10/,
    );
    expect(budget.bytes).toBe(3);
    slow.send(e3); // dropped: ignored
    expect(budget.bytes).toBe(3);
    pending.get('fast')!.shift()!();
    expect(budget.bytes).toBe(0);
    fast.close();
  });
});
