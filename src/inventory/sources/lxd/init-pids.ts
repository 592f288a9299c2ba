// Each running container's init pid, from the server's /state. A container that starts or stops can answer
// 500 for longer than the client's own retries (seen live: Incus 6.0.4 with a neighbour stopping and starting
// in a loop). One such instance must not fail the gateway's start or a resync: it is served with the pid
// the gateway still holds alive by a pidfd (the same process, so the same instance), or with none (no
// caller can match it, so nobody reads its data), and it is read again on its own, backing off, until
// its pid is known, it stops, or it is gone.
import type { Logger } from 'pino';
import type { LxdClient } from '../../../lxd/client.ts';

export interface InitPidsOptions {
  readonly client: LxdClient;
  readonly log: Logger;
  /** Delay of the first re-read, doubling to maxMs while the /state keeps failing. */
  readonly backoff: { readonly minMs: number; readonly maxMs: number };
  /** Queue a re-read of the instance (the source's own per-instance work). */
  readonly reread: (project: string, name: string) => void;
  /** The init pid the inventory holds for `key`, if that very process still runs. */
  readonly heldAlive: (key: string) => number | undefined;
}

interface Retry {
  timer: NodeJS.Timeout | undefined;
  delayMs: number;
  failures: number;
}

export class InitPids {
  readonly #o: InitPidsOptions;
  readonly #retries = new Map<string, Retry>();
  #stopped = false;

  constructor(opts: InitPidsOptions) {
    this.#o = opts;
  }

  /** The instance's init pid; on a failed read, the held pid if still alive, else undefined (retried later). */
  async read(key: string, project: string, name: string): Promise<number | undefined> {
    try {
      const pid = await this.#o.client.initPid(project, name);
      this.forget(key);
      return pid;
    } catch (e) {
      const kept = this.#o.heldAlive(key);
      const r = this.#retries.get(key) ?? { timer: undefined, delayMs: this.#o.backoff.minMs, failures: 0 };
      r.failures++;
      // The first failure is worth a warning; the retries that follow are not news.
      const level = r.failures === 1 ? 'warn' : 'debug';
      this.#o.log[level](
        { err: e, instance: key, kept_pid: kept ?? null, retry_ms: r.delayMs, failures: r.failures },
        "cannot read the instance's init pid: served without a new one, read again later",
      );
      this.#schedule(key, project, name, r);
      return kept;
    }
  }

  /** No retry for `key` any more (its pid was read, it stopped, or it is gone). */
  forget(key: string): void {
    const r = this.#retries.get(key);
    if (!r) return;
    clearTimeout(r.timer);
    this.#retries.delete(key);
  }

  stop(): void {
    this.#stopped = true;
    for (const key of [...this.#retries.keys()]) this.forget(key);
  }

  #schedule(key: string, project: string, name: string, r: Retry): void {
    if (this.#stopped) return;
    this.#retries.set(key, r);
    if (r.timer !== undefined) return;
    const delay = r.delayMs;
    r.delayMs = Math.min(delay * 2, this.#o.backoff.maxMs);
    r.timer = setTimeout(() => {
      r.timer = undefined;
      this.#o.reread(project, name);
    }, delay);
  }
}
