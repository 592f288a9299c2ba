// Per-key token buckets (a request rate with a burst). Pure: the caller passes the clock.

export class TokenBuckets {
  readonly #buckets = new Map<string, { tokens: number; at: number }>();
  readonly #rate: number;
  readonly #burst: number;

  /** `rate` tokens per second refill a bucket of `burst`. */
  constructor(rate: number, burst: number) {
    this.#rate = rate;
    this.#burst = burst;
  }

  /** Take one token for `key` at `nowMs`: 0 when granted, else the ms until one is available. */
  take(key: string, nowMs: number): number {
    let b = this.#buckets.get(key);
    if (!b) {
      if (this.#buckets.size >= 100_000) this.#prune(nowMs);
      b = { tokens: this.#burst, at: nowMs };
      this.#buckets.set(key, b);
    }
    b.tokens = Math.min(this.#burst, b.tokens + ((nowMs - b.at) / 1000) * this.#rate);
    b.at = nowMs;
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return 0;
    }
    return Math.ceil(((1 - b.tokens) / this.#rate) * 1000);
  }

  /** Forget buckets that have refilled (they start full again). */
  #prune(nowMs: number): void {
    for (const [k, b] of this.#buckets)
      if (b.tokens + ((nowMs - b.at) / 1000) * this.#rate >= this.#burst) this.#buckets.delete(k);
  }
}
