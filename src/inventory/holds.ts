// The kernel objects each indexed instance holds (see identity/held.ts), by instance key. A stored
// init pid becomes a pidfd once; later re-indexes (reload, admin edit, SIGHUP, LXD re-read) reuse
// the held pidfd, and an init that exited is never resolved from its pid again.
import type { Logger } from 'pino';
import { HoldError, holdInit, holdNamespaceFile, type HeldInit, type HeldNamespace } from '../identity/held.ts';
import type { InitPins } from './init-pins.ts';
import type { Instance } from './model.ts';

interface InstanceHolds {
  init?: HeldInit;
  ns?: HeldNamespace;
  nsFile?: string;
}

export class Holds {
  readonly #log: Logger;
  readonly #onInitExit: (key: string) => void;
  readonly #byKey = new Map<string, InstanceHolds>();
  /** Inits that exited while held: their pid is never turned into a pidfd again for that instance. */
  readonly #dead = new Map<string, { pid: number; startTime: number | undefined }>();

  readonly #pins: InitPins | undefined;

  constructor(log: Logger, onInitExit: (key: string) => void, pins?: InitPins) {
    this.#log = log;
    this.#onInitExit = onInitExit;
    this.#pins = pins;
  }

  /** What `instance` holds after this call, reusing what it held already. */
  take(instance: Instance): { init?: HeldInit | undefined; ns?: HeldNamespace | undefined } {
    const key = instance.key;
    const id = instance.identity;
    const prev = this.#byKey.get(key) ?? {};
    const next: InstanceHolds = {};
    if (id.initPid !== undefined) next.init = this.#init(instance, prev.init);
    if (id.pidnsFile !== undefined) {
      if (prev.ns && prev.nsFile === id.pidnsFile) next.ns = prev.ns;
      else {
        try {
          next.ns = holdNamespaceFile(id.pidnsFile);
        } catch (e) {
          this.#log.error({ instance: key, pidns_file: id.pidnsFile }, `${(e as Error).message}; not indexed by it`);
        }
      }
      next.nsFile = id.pidnsFile;
    }
    if (prev.init && prev.init !== next.init) prev.init.release();
    if (prev.ns && prev.ns !== next.ns) prev.ns.release();
    const dead = this.#dead.get(key);
    if (dead && dead.pid !== id.initPid) this.#dead.delete(key);
    this.#byKey.set(key, next);
    return next;
  }

  #init(instance: Instance, prev: HeldInit | undefined): HeldInit | undefined {
    const { key, identity: id } = instance;
    const pid = id.initPid!;
    // A pid this gateway held before (perhaps before a restart) must still be the same process.
    const wantStart = id.initStartTime ?? this.#pins?.startTime(key, pid);
    if (prev && prev.pid === pid) {
      if (prev.exited) {
        // Exited, its exit not delivered yet: the pid is already stale, never open it again.
        this.#dead.set(key, { pid, startTime: prev.startTime });
      } else if (wantStart === undefined || wantStart === prev.startTime) return prev;
    }
    const dead = this.#dead.get(key);
    if (dead && dead.pid === pid && (wantStart === undefined || wantStart === dead.startTime)) {
      this.#log.warn(
        { instance: key, init_pid: pid },
        'init pid exited earlier and is never resolved again (the pid may belong to another process now); set the new init_pid',
      );
      return undefined;
    }
    try {
      const held: HeldInit = holdInit(pid, { startTime: wantStart, cgroup: id.cgroup }, () => this.#exited(key, held));
      if (held.startTime !== undefined) this.#pins?.set(key, pid, held.startTime);
      return held;
    } catch (e) {
      if (!(e instanceof HoldError)) throw e;
      this.#log.warn({ instance: key, init_pid: pid }, `${e.message}; instance not reachable by pid namespace`);
      return undefined;
    }
  }

  #exited(key: string, held: HeldInit): void {
    const h = this.#byKey.get(key);
    if (h?.init !== held) return;
    held.release();
    h.init = undefined;
    this.#dead.set(key, { pid: held.pid, startTime: held.startTime });
    this.#onInitExit(key);
  }

  /** The init of `key` is held under `pid` and still runs. */
  liveInit(key: string, pid: number): boolean {
    const i = this.#byKey.get(key)?.init;
    return i !== undefined && i.pid === pid && !i.exited;
  }

  release(key: string): void {
    const h = this.#byKey.get(key);
    h?.init?.release();
    h?.ns?.release();
    this.#byKey.delete(key);
    this.#dead.delete(key);
    this.#pins?.delete(key);
  }

  /** Close every held descriptor (service stop); the pins stay for the next start. */
  releaseAll(): void {
    for (const h of this.#byKey.values()) {
      h.init?.release();
      h.ns?.release();
    }
    this.#byKey.clear();
    this.#dead.clear();
  }

  /** Descriptors held (for the fd budget log). */
  get fds(): number {
    let n = 0;
    for (const h of this.#byKey.values()) n += (h.init ? 2 : 0) + (h.ns ? 1 : 0);
    return n;
  }
}
