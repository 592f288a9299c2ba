// One thing at a time: functions run one after another, in call order. A failure is reported through
// `onError` (the caller of run() still sees it) and never stops the chain.
export class Chain {
  #tail: Promise<void> = Promise.resolve();
  readonly #onError: (e: unknown) => void;

  constructor(onError: (e: unknown) => void) {
    this.#onError = onError;
  }

  run<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.#tail.then(fn);
    this.#tail = next.then(() => {}, this.#onError);
    return next;
  }

  /** Settles once everything run so far has. */
  get idle(): Promise<void> {
    return this.#tail;
  }
}

/** One chain per key, forgotten once idle: work on one key runs in call order, different keys side by side. */
export class KeyedChains {
  readonly #tails = new Map<string, Promise<void>>();

  run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const run = (this.#tails.get(key) ?? Promise.resolve()).then(fn);
    const tail = run.then(
      () => {},
      () => {},
    );
    this.#tails.set(key, tail);
    void tail.then(() => {
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    });
    return run;
  }

  /** Keys with work queued or running. */
  get size(): number {
    return this.#tails.size;
  }
}
