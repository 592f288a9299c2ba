// When an instance file may be applied: once settled, never half written. Settled means its mtime is at
// least `settle` old and a re-read is identical, or (an mtime in the future: clock skew, a restored backup)
// the same size, mtime and content seen `settle` apart. Content equal to the applied one (`known`: above all
// the echo of guestgate's own writes) changes nothing: it is taken after one read, without waiting.
import { type FileRead, readInstanceFile, readInstanceFileSync } from './safe-read.ts';

export type Settled = { readonly text: string } | { readonly waitMs: number };

export class Settler {
  readonly #settleMs: number;
  readonly #debounceMs: number;
  readonly #maxFileSize: number;
  /** First sighting of each unsettled file's current state. */
  readonly #observed = new Map<string, { read: FileRead; at: number }>();

  constructor(opts: { settleMs: number; debounceMs: number; maxFileSize: number }) {
    this.#settleMs = opts.settleMs;
    this.#debounceMs = opts.debounceMs;
    this.#maxFileSize = opts.maxFileSize;
  }

  /** The file's settled content, or how long to wait before looking again. `sync`: read synchronously. */
  async check(path: string, sync: boolean, known?: string): Promise<Settled> {
    const read = (): FileRead | Promise<FileRead> =>
      sync ? readInstanceFileSync(path, this.#maxFileSize) : readInstanceFile(path, this.#maxFileSize);
    const a = await read();
    if (a.text === known) return this.#done(path, a.text);
    const now = Date.now();
    const age = now - a.mtimeMs;
    if (age >= this.#settleMs) {
      const b: FileRead = await read();
      if (same(a, b)) return this.#done(path, b.text);
      return { waitMs: this.#settleMs };
    }
    const seen = this.#observed.get(path);
    if (seen && same(seen.read, a) && now - seen.at >= this.#settleMs) return this.#done(path, a.text);
    if (!seen || !same(seen.read, a)) this.#observed.set(path, { read: a, at: now });
    return { waitMs: Math.max(this.#debounceMs, Math.min(this.#settleMs, this.#settleMs - age) + 5) };
  }

  #done(path: string, text: string): Settled {
    this.#observed.delete(path);
    return { text };
  }
}

const same = (a: FileRead, b: FileRead): boolean => a.text === b.text && a.size === b.size && a.mtimeMs === b.mtimeMs;
