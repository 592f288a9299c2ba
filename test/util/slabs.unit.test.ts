// The slab pool's one promise: a slab is read into again only once it is sealed and every byte lent out
// of it came back; anything else (bytes never given back, given back twice, a drained pool) costs a
// fresh allocation, never a slab reused under a reader.
import { describe, expect, it } from 'vitest';
import { giveBack, retain, SlabPool, slabStats } from '../../src/util/slabs.ts';

const KiB = 1024;

describe('slab pool', () => {
  it('reuses a slab only when sealed and every lent byte is back', () => {
    const pool = new SlabPool(64 * KiB, 4);
    const a = pool.take();
    const x = a.subarray(0, 1000);
    const y = a.subarray(1000, 5000);
    pool.lend(x);
    pool.lend(y);
    giveBack(x);
    giveBack(y);
    // All bytes back, but the reader still reads into it: not reusable.
    const b = pool.take();
    expect(b.buffer).not.toBe(a.buffer);
    const z = a.subarray(5000, 6000);
    pool.lend(z);
    pool.seal(a);
    // Sealed, one view still out.
    expect(pool.take().buffer).not.toBe(a.buffer);
    giveBack(z.subarray(0, 999));
    expect(pool.take().buffer).not.toBe(a.buffer);
    const before = slabStats.reused;
    giveBack(z.subarray(999));
    expect(pool.take().buffer).toBe(a.buffer);
    expect(slabStats.reused).toBe(before + 1);
  });

  it('bytes never given back keep the slab out of the pool', () => {
    const pool = new SlabPool(64 * KiB, 4);
    const a = pool.take();
    pool.lend(a.subarray(0, 10));
    pool.lend(a.subarray(10, 20));
    giveBack(a.subarray(0, 10));
    pool.seal(a);
    for (let i = 0; i < 8; i++) expect(pool.take().buffer).not.toBe(a.buffer);
  });

  it('a slab given back more than lent is never reused, even if later lends even the count out', () => {
    const pool0 = new SlabPool(64 * KiB, 4);
    const s0 = pool0.take();
    const w = s0.subarray(0, 100);
    pool0.lend(w);
    giveBack(w);
    giveBack(w);
    pool0.lend(s0.subarray(100, 200)); // pending back at 0 while this view is in use
    pool0.seal(s0);
    for (let i = 0; i < 8; i++) expect(pool0.take().buffer).not.toBe(s0.buffer);

    const pool = new SlabPool(64 * KiB, 4);
    const a = pool.take();
    const v = a.subarray(0, 100);
    pool.lend(v);
    giveBack(v);
    giveBack(v);
    pool.seal(a);
    pool.lend(a.subarray(0, 50)); // too late: the slab is out of the pool's books
    for (let i = 0; i < 8; i++) expect(pool.take().buffer).not.toBe(a.buffer);
  });

  it('a sealed slab with nothing lent is free at once; a drained pool keeps nothing', () => {
    const pool = new SlabPool(64 * KiB, 4);
    const a = pool.take();
    pool.seal(a);
    expect(pool.take().buffer).toBe(a.buffer);
    const b = pool.take();
    pool.drain();
    pool.seal(b);
    expect(pool.take().buffer).not.toBe(b.buffer);
  });

  it('giveBack of a buffer from anywhere else does nothing; lend of a foreign view is ignored', () => {
    const pool = new SlabPool(64 * KiB, 4);
    const other = new SlabPool(64 * KiB, 4);
    const a = pool.take();
    const foreign = other.take();
    pool.lend(foreign.subarray(0, 10)); // not this pool's: not counted against `a`
    giveBack(Buffer.alloc(10));
    pool.lend(a.subarray(0, 10));
    pool.seal(a);
    giveBack(a.subarray(0, 10));
    expect(pool.take().buffer).toBe(a.buffer);
  });

  it('a retained view keeps its slab out of the pool after its consumer gave it back, until released too', () => {
    const pool = new SlabPool(64 * KiB, 4);
    const a = pool.take();
    const v = a.subarray(0, 1000);
    pool.lend(v);
    pool.seal(a);
    const w = v.subarray(100, 600); // a socket write of part of it
    retain(w);
    giveBack(v); // the fill is done with it
    expect(pool.take().buffer).not.toBe(a.buffer);
    giveBack(w); // the write completed
    expect(pool.take().buffer).toBe(a.buffer);
    retain(Buffer.alloc(10)); // anything else: nothing happens
  });

  it('keeps at most `keep` free slabs', () => {
    const pool = new SlabPool(4 * KiB, 2);
    const slabs = [pool.take(), pool.take(), pool.take()];
    for (const s of slabs) pool.seal(s);
    const again = [pool.take(), pool.take(), pool.take()].map((s) => s.buffer);
    expect(again.filter((b) => slabs.some((s) => s.buffer === b))).toHaveLength(2);
  });
});
