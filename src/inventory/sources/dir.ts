// Inventory source: a folder with one YAML file per instance, watched for changes. A bad file is
// reported (file and key, never content) and the instance keeps its last good version. Files are
// read safely (safe-read.ts) and applied only once settled (unchanged for `settle`, re-read
// identical), so a file written in place is not applied half-written; guestgate writes by rename.
// Scans and guestgate's own writes run side by side (an admin write never waits for a scan of 10,000
// files): a scan result for a file that guestgate wrote since the scan began may be older than that
// write, so it is not applied; the file is looked at again instead.
import { watch, type FSWatcher } from 'node:fs';
import { readdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { isGuestgateError } from '../../errors.ts';
import { fsyncDir, isTmpName, writeFilesAtomic } from '../../util/atomic-write.ts';
import { Chain } from '../../util/chain.ts';
import { inOrder } from '../../util/in-order.ts';
import type { ChangeListener, Instance, InventorySource } from '../model.ts';
import { instanceToYaml, parseInstanceYaml } from '../parse.ts';
import { UnsafeFileError } from './safe-read.ts';
import { Settler } from './settle.ts';

interface Entry {
  readonly text: string;
  readonly instance: Instance;
}

/** How many instance files are read at once during a scan. */
const READ_AHEAD = 32;
const isInstanceFile = (name: string): boolean => /\.ya?ml$/.test(name) && !name.startsWith('.') && !isTmpName(name);

export class DirSource implements InventorySource {
  readonly kind = 'dir';
  /** File names refused right now (unreadable, unsafe, invalid, or a duplicate instance). */
  readonly rejected = new Set<string>();
  readonly #dir: string;
  readonly #debounceMs: number;
  readonly #settleMs: number;
  readonly #settle: Settler;
  /** Files seen changing that are not settled yet: re-checked when they should be. */
  readonly #rechecks = new Map<string, NodeJS.Timeout>();
  readonly #log: Logger;
  readonly #files = new Map<string, Entry>();
  /** instance key -> file name (kept in step with #files by #record/#forget). */
  readonly #fileByKey = new Map<string, string>();
  #onChange: ChangeListener = () => {};
  #watcher: FSWatcher | undefined;
  #pending = new Set<string>();
  #fullScanPending = false;
  #timer: NodeJS.Timeout | undefined;
  readonly #scans: Chain;
  readonly #writes: Chain;
  /** Own writes (puts, removes) so far, and the count at each file's last one. */
  #written = 0;
  readonly #writtenAt = new Map<string, number>();
  /** Puts waiting for the next group commit. */
  #puts: { readonly instance: Instance; resolve(): void; reject(e: unknown): void }[] = [];

  constructor(opts: { dir: string; debounceMs: number; settleMs?: number; maxFileSize?: number; log: Logger }) {
    this.#dir = opts.dir;
    this.#debounceMs = opts.debounceMs;
    this.#settleMs = opts.settleMs ?? 1000;
    this.#settle = new Settler({
      settleMs: this.#settleMs,
      debounceMs: opts.debounceMs,
      maxFileSize: opts.maxFileSize ?? 1024 * 1024,
    });
    this.#log = opts.log;
    this.#scans = new Chain((e) => this.#log.error({ err: e }, 'inventory scan failed'));
    this.#writes = new Chain(() => {}); // each caller sees its own failure
  }

  async start(onChange: ChangeListener): Promise<readonly Instance[]> {
    let unsettled = await this.#scanAll(true);
    // Files written just before start: wait (bounded) until they settle rather than skip them.
    for (let round = 0; unsettled.length > 0 && round < 3; round++) {
      await new Promise((r) => setTimeout(r, this.#settleMs));
      unsettled = await this.#scanFiles(unsettled, true);
    }
    for (const f of unsettled) this.#recheck(f, this.#settleMs);
    this.#onChange = onChange;
    this.#watcher = watch(this.#dir, (_event, name) => this.#schedule(name ?? undefined));
    this.#watcher.on('error', (e) => this.#log.error({ err: e, dir: this.#dir }, 'inventory folder watch failed'));
    return [...this.#files.values()].map((e) => e.instance);
  }

  reload(): Promise<void> {
    return this.#scans.run(async () => {
      await this.#scanAll(false);
    });
  }

  async stop(): Promise<void> {
    this.#watcher?.close();
    clearTimeout(this.#timer);
    for (const t of this.#rechecks.values()) clearTimeout(t);
    this.#rechecks.clear();
    await this.#scans.idle;
    await this.#writes.idle;
  }

  put(instance: Instance): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#puts.push({ instance, resolve, reject });
      if (this.#puts.length === 1) void this.#writes.run(() => this.#commitPuts());
    });
  }

  /**
   * Every put waiting for its turn, in one group commit: the files written, fsynced and renamed side by
   * side, the folder fsynced once (100 concurrent admin writes took 100 x two fsyncs one after another).
   * Each put still resolves only once its file is durable.
   */
  async #commitPuts(): Promise<void> {
    const todo = this.#puts.splice(0).flatMap((put) => {
      try {
        const file = this.#fileOf(put.instance.key) ?? `${put.instance.key}.yaml`;
        const text = instanceToYaml(put.instance);
        return [{ put, file, text }];
      } catch (e) {
        put.reject(e);
        return [];
      }
    });
    const results = await writeFilesAtomic(
      // The file may hold secrets (user-data): it keeps its mode; new files are 0600.
      todo.map((e) => ({ file: join(this.#dir, e.file), data: e.text, mode: 0o600, keepMode: true })),
    );
    for (const e of todo) this.#writtenAt.set(e.file, ++this.#written);
    for (const [j, e] of todo.entries()) {
      const r = results[j]!;
      if (r.status === 'rejected') e.put.reject(r.reason);
      else {
        this.#record(e.file, { text: e.text, instance: e.put.instance });
        e.put.resolve();
      }
    }
  }

  async remove(key: string): Promise<void> {
    await this.#writes.run(async () => {
      const file = this.#fileOf(key);
      if (!file) return;
      await unlink(join(this.#dir, file)).catch((e: NodeJS.ErrnoException) => {
        if (e.code !== 'ENOENT') throw e;
      });
      await fsyncDir(this.#dir); // the removal is durable before it is acknowledged
      this.#writtenAt.set(file, ++this.#written);
      this.#forget(file);
    });
  }

  #fileOf(key: string): string | undefined {
    return this.#fileByKey.get(key);
  }

  #schedule(name: string | undefined): void {
    if (name === undefined) this.#fullScanPending = true;
    else if (isInstanceFile(name)) this.#pending.add(name);
    else return;
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      const names = [...this.#pending];
      const full = this.#fullScanPending;
      this.#pending.clear();
      this.#fullScanPending = false;
      void this.#scans.run(async () => {
        await (full ? this.#scanAll(false) : this.#scanFiles(names));
      });
    }, this.#debounceMs);
  }

  /** Whether guestgate wrote `file` after its `since`-th write (what a scan read may predate it). */
  #writtenSince(file: string, since: number): boolean {
    return (this.#writtenAt.get(file) ?? -1) > since;
  }

  async #scanAll(initial: boolean): Promise<string[]> {
    const since = this.#written;
    const names = (await readdir(this.#dir)).filter(isInstanceFile);
    const present = new Set(names);
    for (const file of [...this.#files.keys()])
      if (!present.has(file) && !this.#writtenSince(file, since)) this.#forget(file);
    return this.#scanFiles(names, initial, since);
  }

  #recheck(file: string, delayMs: number): void {
    clearTimeout(this.#rechecks.get(file));
    this.#rechecks.set(
      file,
      setTimeout(() => {
        this.#rechecks.delete(file);
        this.#schedule(file);
      }, delayMs),
    );
  }

  /** Returns the files not settled yet (each re-checked later unless `initial`). */
  async #scanFiles(names: readonly string[], initial = false, since = this.#written): Promise<string[]> {
    const unsettled: string[] = [];
    // Files are read READ_AHEAD at a time (each read is several syscalls on the thread pool) and
    // applied one by one, in order. At start (nothing served yet) they are read synchronously.
    const read = inOrder(names, READ_AHEAD, (file) =>
      this.#settle.check(join(this.#dir, file), initial, this.#files.get(file)?.text),
    );
    for (const [i, file] of names.entries()) {
      let text: string;
      try {
        const r = await read(i);
        if (this.#writtenSince(file, since)) {
          this.#recheck(file, 0);
          continue;
        }
        if ('waitMs' in r) {
          unsettled.push(file);
          if (!initial) this.#recheck(file, r.waitMs);
          continue;
        }
        text = r.text;
      } catch (e) {
        if (this.#writtenSince(file, since)) this.#recheck(file, 0);
        else if ((e as NodeJS.ErrnoException).code === 'ENOENT') this.#forget(file);
        else if (e instanceof UnsafeFileError) {
          this.rejected.add(file);
          this.#log.error({ file: e.file }, e.message);
        } else {
          this.rejected.add(file);
          this.#log.error(
            { file: join(this.#dir, file), code: (e as NodeJS.ErrnoException).code },
            'cannot read instance file',
          );
        }
        continue;
      }
      if (this.#files.get(file)?.text === text) continue;
      try {
        const instance = parseInstanceYaml(text, join(this.#dir, file));
        const clash = this.#fileOf(instance.key);
        if (clash && clash !== file) {
          this.rejected.add(file);
          this.#log.error(
            { file: join(this.#dir, file), other: join(this.#dir, clash) },
            `instance "${instance.key}" is already defined in another file; ignored`,
          );
          continue;
        }
        this.#record(file, { text, instance });
        this.rejected.delete(file);
      } catch (e) {
        if (!isGuestgateError(e)) throw e;
        this.rejected.add(file);
        this.#log.error(
          { file: join(this.#dir, file), code: e.code, ...e.fields },
          `${e.message}${this.#files.has(file) ? ' (keeping the last good version)' : ''}`,
        );
      }
    }
    return unsettled;
  }

  #record(file: string, entry: Entry): void {
    const before = this.#files.get(file)?.instance;
    this.#files.set(file, entry);
    if (before && before.key !== entry.instance.key) {
      this.#fileByKey.delete(before.key);
      this.#onChange({ kind: 'remove', before });
    }
    this.#fileByKey.set(entry.instance.key, file);
    this.#onChange({
      kind: 'upsert',
      before: before?.key === entry.instance.key ? before : undefined,
      after: entry.instance,
    });
  }

  #forget(file: string): void {
    this.rejected.delete(file);
    const before = this.#files.get(file)?.instance;
    if (!before) return;
    this.#files.delete(file);
    if (this.#fileByKey.get(before.key) === file) this.#fileByKey.delete(before.key);
    this.#onChange({ kind: 'remove', before });
    // Another file refused as a duplicate of this instance may define it now: read the refused ones again.
    for (const f of this.rejected) this.#recheck(f, 0);
  }
}
