// The init pids guestgate has held, with their start times, kept across restarts: an instance file
// still names its init by pid after guestgate restarts, and by then that pid may belong to another
// process. A pinned pid is only held again when its start time (and the boot) match; otherwise the
// instance is not reachable by that pid until its file names the new init. One small JSON file,
// replaced atomically; writes are coalesced (at most one in flight, the newest content wins).
import { mkdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Logger } from 'pino';
import { writeFileAtomic } from '../util/atomic-write.ts';

interface Pin {
  readonly pid: number;
  readonly start_time: number;
}

interface PinFile {
  readonly boot_id: string;
  readonly pins: Readonly<Record<string, Pin>>;
}

const bootId = (): string => {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    return 'unknown';
  }
};

export class InitPins {
  readonly #file: string;
  readonly #log: Logger;
  readonly #boot = bootId();
  readonly #pins = new Map<string, Pin>();
  #writing: Promise<void> | undefined;
  #dirty = false;

  constructor(file: string, log: Logger) {
    this.#file = file;
    this.#log = log;
  }

  /** Read the pins of this boot (pins from an earlier boot name pids that no longer mean anything). */
  load(): void {
    mkdirSync(dirname(this.#file), { recursive: true, mode: 0o700 });
    let text: string;
    try {
      text = readFileSync(this.#file, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      return;
    }
    try {
      const f = JSON.parse(text) as PinFile;
      if (f.boot_id !== this.#boot) return;
      for (const [key, p] of Object.entries(f.pins))
        if (Number.isInteger(p.pid) && Number.isInteger(p.start_time)) this.#pins.set(key, p);
    } catch (e) {
      this.#log.warn(
        { file: this.#file, err: (e as Error).message },
        'init pin file unreadable; starting without pins',
      );
    }
  }

  /** Start time pinned for `key` when its pinned pid is `pid`. */
  startTime(key: string, pid: number): number | undefined {
    const p = this.#pins.get(key);
    return p?.pid === pid ? p.start_time : undefined;
  }

  set(key: string, pid: number, startTime: number): void {
    const p = this.#pins.get(key);
    if (p?.pid === pid && p.start_time === startTime) return;
    this.#pins.set(key, { pid, start_time: startTime });
    this.#save();
  }

  delete(key: string): void {
    if (this.#pins.delete(key)) this.#save();
  }

  /** Resolves once everything set so far is on disk. */
  async flush(): Promise<void> {
    while (this.#writing) await this.#writing;
  }

  #save(): void {
    this.#dirty = true;
    if (this.#writing) return;
    this.#writing = (async () => {
      while (this.#dirty) {
        this.#dirty = false;
        const doc: PinFile = { boot_id: this.#boot, pins: Object.fromEntries(this.#pins) };
        await writeFileAtomic(this.#file, `${JSON.stringify(doc)}\n`, 0o600).catch((e: unknown) =>
          this.#log.error({ file: this.#file, err: (e as Error).message }, 'could not record init pins'),
        );
      }
      this.#writing = undefined;
    })();
  }
}
