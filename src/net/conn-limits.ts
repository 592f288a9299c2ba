// Connection accounting shared by every listener: a cap per key (an instance, an unknown caller, a
// source address) and a process-wide cap kept below the fd limit. The last `reserve` slots go only to
// keys holding fewer than RESERVE_FLOOR connections, so one instance under its cap is served even when
// others have filled the rest. Pure: no sockets, no timers.

export const RESERVE_FLOOR = 4;

export interface ConnCaps {
  /** Process-wide cap on open connections. */
  readonly global: number;
  /** Slots at the top of `global` kept for keys holding fewer than RESERVE_FLOOR connections. */
  readonly reserve: number;
}

export type Refusal = 'per-key' | 'global';

export class ConnCounter {
  readonly #byKey = new Map<string, number>();
  #total = 0;
  readonly caps: ConnCaps;

  constructor(caps: ConnCaps) {
    this.caps = { global: Math.max(1, caps.global), reserve: Math.min(caps.reserve, Math.max(0, caps.global - 1)) };
  }

  get total(): number {
    return this.#total;
  }

  count(key: string): number {
    return this.#byKey.get(key) ?? 0;
  }

  /** Take a slot for `key` (whose own cap is `perKey`), or say why not. A refused connection takes nothing. */
  admit(key: string, perKey: number): Refusal | undefined {
    const held = this.count(key);
    if (held >= perKey) return 'per-key';
    if (this.#total >= this.caps.global) return 'global';
    if (this.#total >= this.caps.global - this.caps.reserve && held >= RESERVE_FLOOR) return 'global';
    this.#byKey.set(key, held + 1);
    this.#total++;
    return undefined;
  }

  /** Give back a slot taken by admit(). */
  release(key: string): void {
    const held = this.count(key);
    if (held <= 0) return;
    if (held === 1) this.#byKey.delete(key);
    else this.#byKey.set(key, held - 1);
    this.#total--;
  }
}

/** Says true at most once per key per `everyMs` (for "log once per instance per minute"). */
export class LogOnce {
  readonly #last = new Map<string, number>();
  readonly #everyMs: number;
  constructor(everyMs: number) {
    this.#everyMs = everyMs;
  }
  due(key: string, now: number): boolean {
    const last = this.#last.get(key);
    if (last !== undefined && now - last < this.#everyMs) return false;
    if (this.#last.size >= 10_000) {
      for (const [k, t] of this.#last) if (now - t >= this.#everyMs) this.#last.delete(k);
    }
    this.#last.set(key, now);
    return true;
  }
}

/** Process-wide cap from the fd soft limit: below it by `headroom`, never under 64. */
export function globalCap(configured: number, fdSoft: number | undefined, headroom: number): number {
  if (configured > 0) return fdSoft === undefined ? configured : Math.min(configured, Math.max(64, fdSoft - headroom));
  return Math.max(64, (fdSoft ?? 1024) - headroom);
}
