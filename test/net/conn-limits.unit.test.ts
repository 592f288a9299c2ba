import { describe, expect, it } from 'vitest';
import { ConnCounter, globalCap, LogOnce, RESERVE_FLOOR } from '../../src/net/conn-limits.ts';

describe('ConnCounter', () => {
  it('caps one key and frees its slots on release', () => {
    const c = new ConnCounter({ global: 1000, reserve: 0 });
    for (let i = 0; i < 3; i++) expect(c.admit('a', 3)).toBeUndefined();
    expect(c.admit('a', 3)).toBe('per-key');
    expect(c.count('a')).toBe(3);
    expect(c.admit('b', 3)).toBeUndefined();
    c.release('a');
    expect(c.admit('a', 3)).toBeUndefined();
    expect(c.total).toBe(4);
  });

  it('keeps the reserve for keys holding fewer than RESERVE_FLOOR connections', () => {
    const c = new ConnCounter({ global: 30, reserve: 20 });
    // Greedy keys fill the shared part (10 slots), then only get the reserve up to the floor...
    let admitted = 0;
    for (const k of ['x', 'y', 'z']) for (let i = 0; i < 20; i++) if (!c.admit(k, 64)) admitted++;
    expect(admitted).toBe(10 + 2 * RESERVE_FLOOR);
    expect(c.admit('x', 64)).toBe('global');
    // ...while a light key is still served from the reserve, up to the floor.
    for (let i = 0; i < RESERVE_FLOOR; i++) expect(c.admit('honest', 64)).toBeUndefined();
    expect(c.admit('honest', 64)).toBe('global');
  });

  it('never goes over the global cap, reserve or not', () => {
    const c = new ConnCounter({ global: 5, reserve: 5 });
    let admitted = 0;
    for (let k = 0; k < 10; k++) if (!c.admit(`k${k}`, 64)) admitted++;
    expect(admitted).toBe(5);
    expect(c.total).toBe(5);
  });

  it('ignores a release of a key it never admitted', () => {
    const c = new ConnCounter({ global: 5, reserve: 0 });
    c.release('nobody');
    expect(c.total).toBe(0);
  });
});

describe('globalCap', () => {
  it('stays below the fd soft limit by the headroom', () => {
    expect(globalCap(0, 65536, 1024)).toBe(64512);
    expect(globalCap(100_000, 65536, 1024)).toBe(64512);
    expect(globalCap(500, 65536, 1024)).toBe(500);
    expect(globalCap(0, 1024, 1024)).toBe(64);
  });
});

describe('LogOnce', () => {
  it('says true once per key per period', () => {
    const l = new LogOnce(60_000);
    expect(l.due('a', 0)).toBe(true);
    expect(l.due('a', 59_999)).toBe(false);
    expect(l.due('b', 1)).toBe(true);
    expect(l.due('a', 60_000)).toBe(true);
  });
});
