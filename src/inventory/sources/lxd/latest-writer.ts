// One ordered chain of writes per key, bursts coalesced, the last value wins: while a write for a key is in
// flight, newer values only replace the pending one; when it completes, the pending value (if it differs
// from what was written) is written next. Used for readiness (`volatile.last_state.ready`): four PATCHes
// Ready/Started/Ready/Ready a few ms apart must end with `true` on the server, whatever the round trips do.
export class LatestWriter<V> {
  readonly #write: (key: string, value: V) => Promise<void>;
  readonly #chains = new Map<string, { latest: V; done: Promise<void> }>();

  constructor(write: (key: string, value: V) => Promise<void>) {
    this.#write = write;
  }

  /** Resolves once `value` (or a newer value for the same key) is written. Never rejects: `write` must not. */
  set(key: string, value: V): Promise<void> {
    const running = this.#chains.get(key);
    if (running) {
      running.latest = value;
      return running.done;
    }
    const chain = { latest: value, done: Promise.resolve() };
    this.#chains.set(key, chain);
    chain.done = (async () => {
      try {
        let written: { v: V } | undefined;
        while (!written || written.v !== chain.latest) {
          const v = chain.latest;
          await this.#write(key, v);
          written = { v };
        }
      } finally {
        this.#chains.delete(key);
      }
    })();
    return chain.done;
  }

  /** Waits for every chain in flight (stop). */
  async idle(): Promise<void> {
    await Promise.all([...this.#chains.values()].map((c) => c.done));
  }
}
