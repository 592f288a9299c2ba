// A bounded, ordered writer for one event listener. Writes go out in call order (one stream per
// listener); a listener that falls behind by more than `maxQueue` events, or whose writes stall for
// longer than `stallMs`, is dropped instead of buffering without bound.
export type WriteFn = (line: string, done: (err?: Error | null) => void) => void;

export class BoundedSender {
  readonly #write: WriteFn;
  readonly #maxQueue: number;
  readonly #stallMs: number;
  readonly #drop: (reason: string) => void;
  #pending = 0;
  #stall: NodeJS.Timeout | undefined;
  #dropped = false;

  constructor(write: WriteFn, opts: { maxQueue: number; stallMs: number }, drop: (reason: string) => void) {
    this.#write = write;
    this.#maxQueue = opts.maxQueue;
    this.#stallMs = opts.stallMs;
    this.#drop = drop;
  }

  get pending(): number {
    return this.#pending;
  }

  send(line: string): void {
    if (this.#dropped) return;
    if (this.#pending >= this.#maxQueue) {
      this.#fail(`listener too slow: ${this.#pending} events queued`);
      return;
    }
    this.#pending++;
    this.#stall ??= setTimeout(
      () => this.#fail(`listener stalled: no write completed for ${this.#stallMs} ms`),
      this.#stallMs,
    );
    this.#write(line, (err) => {
      if (err) return this.#fail(`write failed: ${err.message}`);
      this.#pending--;
      clearTimeout(this.#stall);
      this.#stall =
        this.#pending > 0
          ? setTimeout(() => this.#fail(`listener stalled: no write completed for ${this.#stallMs} ms`), this.#stallMs)
          : undefined;
    });
  }

  close(): void {
    this.#dropped = true;
    clearTimeout(this.#stall);
  }

  #fail(reason: string): void {
    if (this.#dropped) return;
    this.close();
    this.#drop(reason);
  }
}
