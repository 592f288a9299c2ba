import { describe, expect, it } from 'vitest';
import { TokenBuckets } from '../../src/net/token-bucket.ts';

describe('TokenBuckets', () => {
  it('grants a burst, then one token per 1/rate s, per key', () => {
    const b = new TokenBuckets(10, 3);
    expect([b.take('a', 0), b.take('a', 0), b.take('a', 0)]).toEqual([0, 0, 0]);
    expect(b.take('a', 0)).toBe(100);
    // Another key has its own bucket.
    expect(b.take('b', 0)).toBe(0);
    expect(b.take('a', 50)).toBe(50);
    expect(b.take('a', 100)).toBe(0);
  });

  it('refills no higher than the burst', () => {
    const b = new TokenBuckets(1000, 2);
    expect(b.take('a', 0)).toBe(0);
    expect([b.take('a', 60_000), b.take('a', 60_000), b.take('a', 60_000)]).toEqual([0, 0, 1]);
  });
});
