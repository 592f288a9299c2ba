// Readiness as guests report it (PATCH /1.0 {"state":"Ready"|"Started"}), durable across restarts:
// one small JSON file per instance, replaced atomically. Emits 'change' for the admin side.
import { EventEmitter } from 'node:events';
import { mkdir, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fsyncDir, writeFileAtomic, isTmpName } from '../util/atomic-write.ts';
import { unlink } from 'node:fs/promises';

export type ReadyState = 'Ready' | 'Started';

export interface ReadyRecord {
  readonly state: ReadyState;
  /** ISO time of the last PATCH. */
  readonly since: string;
}

export interface ReadyEvents {
  change: [key: string, record: ReadyRecord];
}

const fileName = (key: string): string => `${encodeURIComponent(key)}.json`;

export class ReadyStore extends EventEmitter<ReadyEvents> {
  readonly #dir: string;
  readonly #records = new Map<string, ReadyRecord>();
  /** Per-instance write chain, so two PATCHes land in order. */
  readonly #writes = new Map<string, Promise<void>>();

  constructor(dir: string) {
    super();
    this.#dir = dir;
  }

  async load(): Promise<void> {
    await mkdir(this.#dir, { recursive: true, mode: 0o700 });
    for (const name of await readdir(this.#dir)) {
      if (isTmpName(name)) {
        await unlink(join(this.#dir, name)).catch(() => {});
        continue;
      }
      if (!name.endsWith('.json')) continue;
      try {
        const r = JSON.parse(await readFile(join(this.#dir, name), 'utf8')) as ReadyRecord;
        if (r.state === 'Ready' || r.state === 'Started') this.#records.set(decodeURIComponent(name.slice(0, -5)), r);
      } catch {
        // A damaged record means "unknown": the guest reports again at its next boot.
      }
    }
  }

  get(key: string): ReadyRecord | undefined {
    return this.#records.get(key);
  }

  /** Record durably, then notify. Resolves once the write is on disk. */
  set(key: string, state: ReadyState): Promise<ReadyRecord> {
    const record: ReadyRecord = { state, since: new Date().toISOString() };
    const prev = this.#writes.get(key) ?? Promise.resolve();
    const write = prev
      .catch(() => {})
      .then(() => writeFileAtomic(join(this.#dir, fileName(key)), `${JSON.stringify(record)}\n`, 0o600));
    this.#writes.set(key, write);
    return write.then(() => {
      if (this.#writes.get(key) === write) this.#writes.delete(key);
      this.#records.set(key, record);
      this.emit('change', key, record);
      return record;
    });
  }

  async forget(key: string): Promise<void> {
    this.#records.delete(key);
    const removed = await unlink(join(this.#dir, fileName(key))).then(
      () => true,
      () => false,
    );
    if (removed) await fsyncDir(this.#dir);
  }
}
