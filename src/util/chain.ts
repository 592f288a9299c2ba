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
