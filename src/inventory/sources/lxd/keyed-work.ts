// Per-key chains of work: one piece of work runs per key at a time (so one busy instance never delays
// another's), work not started yet is replaced by newer work for the same key (a later read sees
// everything an earlier one would), and at most `limit` pieces run across all keys at once.

interface Pending<W> {
  readonly work: W;
  readonly done: (() => void)[];
}

interface Slot<W> {
  pending: Pending<W> | undefined;
  running: Promise<void> | undefined;
}

export interface KeyedWorkOptions<W> {
  readonly limit: number;
  readonly run: (work: W) => Promise<void>;
  /** A failed piece of work is reported here; the chain goes on. */
  readonly onError: (err: unknown, work: W) => void;
}

export class KeyedWork<W> {
  readonly #opts: KeyedWorkOptions<W>;
  readonly #slots = new Map<string, Slot<W>>();
  readonly #waiters: (() => void)[] = [];
  #active = 0;
  #running = false;
  #stopped = false;

  constructor(opts: KeyedWorkOptions<W>) {
    this.#opts = opts;
  }

  /** Queue `work` under `id`; resolves once it (or newer work that replaced it) has run. */
  enqueue(id: string, work: W): Promise<void> {
    if (this.#stopped) return Promise.resolve();
    return new Promise((resolve) => {
      let slot = this.#slots.get(id);
      if (!slot) {
        slot = { pending: undefined, running: undefined };
        this.#slots.set(id, slot);
      }
      slot.pending = { work, done: [...(slot.pending?.done ?? []), resolve] };
      this.#kick(id, slot);
    });
  }

  /** Work queued before start() waits until now. */
  start(): void {
    this.#running = true;
    for (const [id, slot] of this.#slots) this.#kick(id, slot);
  }

  /** Resolve what is waiting, let what runs finish, accept nothing more. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#running = false;
    const running = [...this.#slots.values()].map((s) => s.running);
    for (const s of this.#slots.values()) for (const d of s.pending?.done ?? []) d();
    this.#slots.clear();
    await Promise.all(running);
  }

  #kick(id: string, slot: Slot<W>): void {
    if (!this.#running || slot.running || !slot.pending) return;
    slot.running = (async () => {
      while (slot.pending && this.#running) {
        const p = slot.pending;
        slot.pending = undefined;
        await this.#limited(() => this.#opts.run(p.work)).catch((e: unknown) => this.#opts.onError(e, p.work));
        for (const d of p.done) d();
      }
      slot.running = undefined;
      if (!slot.pending && this.#slots.get(id) === slot) this.#slots.delete(id);
    })();
  }

  async #limited<T>(fn: () => Promise<T>): Promise<T> {
    while (this.#active >= this.#opts.limit) await new Promise<void>((r) => this.#waiters.push(r));
    this.#active++;
    try {
      return await fn();
    } finally {
      this.#active--;
      this.#waiters.shift()?.();
    }
  }
}
