// One byte budget for every event listener of the process (guest.events.max_total_bytes). An event is
// encoded once into one buffer that every listener it goes to writes (no copy per listener), so the
// memory held is the distinct buffers some listener has not written yet: counted once each, by
// reference count. Over the budget, the listeners furthest behind (most bytes pending) are dropped
// until it holds again, so many slow listeners across many instances cannot add up past it.
export interface Budgeted {
  /** Bytes this listener has queued (its own count, shared buffers included). */
  readonly pendingBytes: number;
  /** Drop the listener (it releases what it holds). */
  evict(reason: string): void;
}

export class EventBudget {
  readonly #max: number;
  readonly #held = new Map<Buffer, number>();
  readonly #members = new Set<Budgeted>();
  #bytes = 0;

  constructor(maxBytes: number) {
    this.#max = maxBytes;
  }

  /** Distinct bytes queued across all listeners. */
  get bytes(): number {
    return this.#bytes;
  }

  join(m: Budgeted): () => void {
    this.#members.add(m);
    return () => this.#members.delete(m);
  }

  hold(buf: Buffer): void {
    const n = this.#held.get(buf) ?? 0;
    if (n === 0) this.#bytes += buf.length;
    this.#held.set(buf, n + 1);
  }

  release(buf: Buffer): void {
    const n = this.#held.get(buf);
    if (n === undefined) return;
    if (n > 1) this.#held.set(buf, n - 1);
    else {
      this.#held.delete(buf);
      this.#bytes -= buf.length;
    }
  }

  /** Drop the slowest listeners until the distinct bytes queued fit the budget again. */
  enforce(): void {
    while (this.#bytes > this.#max) {
      let slowest: Budgeted | undefined;
      for (const m of this.#members) if (m.pendingBytes > (slowest?.pendingBytes ?? 0)) slowest = m;
      if (!slowest) return;
      this.#members.delete(slowest);
      slowest.evict(
        `listener too slow: ${slowest.pendingBytes} bytes queued while all listeners hold ${this.#bytes} (guest.events.max_total_bytes ${this.#max})`,
      );
    }
  }
}
