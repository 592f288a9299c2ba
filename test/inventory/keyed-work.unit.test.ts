import { describe, expect, it } from 'vitest';
import { KeyedWork } from '../../src/inventory/sources/lxd/keyed-work.ts';

const gate = () => {
  let open!: () => void;
  const p = new Promise<void>((r) => (open = r));
  return { p, open };
};

describe('KeyedWork: per-key chains for the LXD source', () => {
  it('runs one piece per key at a time; work queued meanwhile is replaced by the newest', async () => {
    const ran: string[] = [];
    const g = gate();
    const w = new KeyedWork<string>({
      limit: 8,
      run: async (s) => {
        ran.push(s);
        if (s === 'a1') await g.p;
      },
      onError: () => {},
    });
    w.start();
    const done = [w.enqueue('a', 'a1'), w.enqueue('a', 'a2'), w.enqueue('a', 'a3'), w.enqueue('b', 'b1')];
    await done[3]; // b is not held up by a's slow work
    expect(ran).toEqual(['a1', 'b1']);
    g.open();
    await Promise.all(done); // a2's caller resolves when a3 (which replaced it) has run
    expect(ran).toEqual(['a1', 'b1', 'a3']);
  });

  it('never runs more than `limit` pieces at once, and reports failures without stopping the chain', async () => {
    let active = 0;
    let peak = 0;
    const errors: string[] = [];
    const w = new KeyedWork<number>({
      limit: 3,
      run: async (n) => {
        active++;
        peak = Math.max(peak, active);
        await new Promise((r) => setImmediate(r));
        active--;
        if (n === 5) throw new Error('boom');
      },
      onError: (e, n) => errors.push(`${n}: ${(e as Error).message}`),
    });
    const all = Array.from({ length: 20 }, (_, i) => w.enqueue(`k${i}`, i));
    expect(peak).toBe(0); // nothing runs before start()
    w.start();
    await Promise.all(all);
    expect(peak).toBe(3);
    expect(errors).toEqual(['5: boom']);
    await w.stop();
    await w.enqueue('late', 1); // accepted and resolved at once after stop, never run
    expect(active).toBe(0);
  });
});
