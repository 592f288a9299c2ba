// A bounded, ordered writer for one event listener. Writes go out in call order (one stream per
// listener); a listener that falls behind by more than `maxQueue` events or `maxBytes` bytes, or whose
// writes stall for longer than `stallMs`, is dropped instead of buffering without bound. One event
// larger than `maxBytes` still goes to a listener that has nothing queued. Events are buffers shared
// with the other listeners (never copied here); with a `budget`, what is queued also counts against
// the process-wide budget (budget.ts), which drops the slowest listeners when exceeded.
import type { Budgeted, EventBudget } from './budget.ts';

export type WriteFn = (data: Buffer, done: (err?: Error | null) => void) => void;

export class BoundedSender implements Budgeted {
  readonly #write: WriteFn;
  readonly #maxQueue: number;
  readonly #stallMs: number;
  readonly #maxBytes: number;
  readonly #drop: (reason: string) => void;
  readonly #budget: EventBudget | undefined;
  readonly #leave: (() => void) | undefined;
  /** Written, not yet done, in order (writes complete in order on one stream). */
  readonly #queued: Buffer[] = [];
  #pendingBytes = 0;
  #stall: NodeJS.Timeout | undefined;
  #dropped = false;

  constructor(
    write: WriteFn,
    opts: { maxQueue: number; stallMs: number; maxBytes?: number; budget?: EventBudget | undefined },
    drop: (reason: string) => void,
  ) {
    this.#write = write;
    this.#maxQueue = opts.maxQueue;
    this.#maxBytes = opts.maxBytes ?? Number.POSITIVE_INFINITY;
    this.#stallMs = opts.stallMs;
    this.#drop = drop;
    this.#budget = opts.budget;
    this.#leave = this.#budget?.join(this);
  }

  /** Dropped by the budget (the slowest listener while the process holds too much). */
  evict(reason: string): void {
    this.#fail(reason);
  }

  get pending(): number {
    return this.#queued.length;
  }

  get pendingBytes(): number {
    return this.#pendingBytes;
  }

  send(data: Buffer): void {
    if (this.#dropped) return;
    if (this.#queued.length >= this.#maxQueue) {
      this.#fail(`listener too slow: ${this.#queued.length} events queued`);
      return;
    }
    const bytes = data.length;
    if (this.#queued.length > 0 && this.#pendingBytes + bytes > this.#maxBytes) {
      this.#fail(`listener too slow: ${this.#pendingBytes} bytes queued, ${bytes} more would pass ${this.#maxBytes}`);
      return;
    }
    this.#queued.push(data);
    this.#pendingBytes += bytes;
    this.#budget?.hold(data);
    this.#stall ??= setTimeout(
      () => this.#fail(`listener stalled: no write completed for ${this.#stallMs} ms`),
      this.#stallMs,
    );
    this.#write(data, (err) => {
      if (this.#dropped) return;
      if (err) return this.#fail(`write failed: ${err.message}`);
      const done = this.#queued.shift()!;
      this.#pendingBytes -= done.length;
      this.#budget?.release(done);
      clearTimeout(this.#stall);
      this.#stall =
        this.#queued.length > 0
          ? setTimeout(() => this.#fail(`listener stalled: no write completed for ${this.#stallMs} ms`), this.#stallMs)
          : undefined;
    });
    this.#budget?.enforce();
  }

  close(): void {
    if (this.#dropped) return;
    this.#dropped = true;
    clearTimeout(this.#stall);
    this.#leave?.();
    for (const b of this.#queued.splice(0)) this.#budget?.release(b);
    this.#pendingBytes = 0;
  }

  #fail(reason: string): void {
    if (this.#dropped) return;
    this.close();
    this.#drop(reason);
  }
}
