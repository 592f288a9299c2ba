// A bounded, ordered writer for one event listener. Writes go out in call order (one stream per
// listener); a listener that falls behind by more than `maxQueue` events or `maxBytes` bytes
// (counted as the UTF-8 bytes each socket buffers), or whose writes stall for longer than `stallMs`,
// is dropped instead of buffering without bound. One event larger than `maxBytes` still goes to a
// listener that has nothing queued.
export type WriteFn = (line: string, done: (err?: Error | null) => void) => void;

export class BoundedSender {
  readonly #write: WriteFn;
  readonly #maxQueue: number;
  readonly #stallMs: number;
  readonly #maxBytes: number;
  readonly #drop: (reason: string) => void;
  #pending = 0;
  #pendingBytes = 0;
  #stall: NodeJS.Timeout | undefined;
  #dropped = false;

  constructor(
    write: WriteFn,
    opts: { maxQueue: number; stallMs: number; maxBytes?: number },
    drop: (reason: string) => void,
  ) {
    this.#write = write;
    this.#maxQueue = opts.maxQueue;
    this.#maxBytes = opts.maxBytes ?? Number.POSITIVE_INFINITY;
    this.#stallMs = opts.stallMs;
    this.#drop = drop;
  }

  get pending(): number {
    return this.#pending;
  }

  get pendingBytes(): number {
    return this.#pendingBytes;
  }

  send(line: string): void {
    if (this.#dropped) return;
    if (this.#pending >= this.#maxQueue) {
      this.#fail(`listener too slow: ${this.#pending} events queued`);
      return;
    }
    const bytes = Buffer.byteLength(line);
    if (this.#pending > 0 && this.#pendingBytes + bytes > this.#maxBytes) {
      this.#fail(`listener too slow: ${this.#pendingBytes} bytes queued, ${bytes} more would pass ${this.#maxBytes}`);
      return;
    }
    this.#pending++;
    this.#pendingBytes += bytes;
    this.#stall ??= setTimeout(
      () => this.#fail(`listener stalled: no write completed for ${this.#stallMs} ms`),
      this.#stallMs,
    );
    this.#write(line, (err) => {
      if (err) return this.#fail(`write failed: ${err.message}`);
      this.#pending--;
      this.#pendingBytes -= bytes;
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
