// Inventory source: a folder with one YAML file per instance, watched for changes. A bad file is
// reported (file and key, never content) and the instance keeps its last good version. Files are
// read safely (safe-read.ts) and applied only once settled (unchanged for `settle`, re-read
// identical), so a file written in place is not applied half-written; guestgate writes by rename.
import { watch, type FSWatcher } from 'node:fs';
import { lstat, readdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { isGuestgateError } from '../../errors.ts';
import { fsyncDir, isTmpName, writeFilesAtomic } from '../../util/atomic-write.ts';
import { inOrder } from '../../util/in-order.ts';
import type { ChangeListener, Instance, InventorySource } from '../model.ts';
import { instanceToYaml, parseInstanceYaml } from '../parse.ts';
import { readInstanceFile, readInstanceFileSync, UnsafeFileError, type FileRead } from './safe-read.ts';

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
  readonly #maxFileSize: number;
  /** Files seen changing that are not settled yet: re-checked when they should be. */
  readonly #rechecks = new Map<string, NodeJS.Timeout>();
  /** First sighting of each unsettled file's current state. */
  readonly #observed = new Map<string, { read: FileRead; at: number }>();
  readonly #log: Logger;
  readonly #files = new Map<string, Entry>();
  /** instance key -> file name (kept in step with #files by #record/#forget). */
  readonly #fileByKey = new Map<string, string>();
  #onChange: ChangeListener = () => {};
  #watcher: FSWatcher | undefined;
  #pending = new Set<string>();
  #fullScanPending = false;
  #timer: NodeJS.Timeout | undefined;
  #scanning: Promise<void> = Promise.resolve();
  /** Puts waiting for the next group commit. */
  #puts: { readonly instance: Instance; resolve(): void; reject(e: unknown): void }[] = [];

  constructor(opts: { dir: string; debounceMs: number; settleMs?: number; maxFileSize?: number; log: Logger }) {
    this.#dir = opts.dir;
    this.#debounceMs = opts.debounceMs;
    this.#settleMs = opts.settleMs ?? 1000;
    this.#maxFileSize = opts.maxFileSize ?? 1024 * 1024;
    this.#log = opts.log;
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
    return this.#serial(async () => {
      await this.#scanAll(false);
    });
  }

  async stop(): Promise<void> {
    this.#watcher?.close();
    clearTimeout(this.#timer);
    for (const t of this.#rechecks.values()) clearTimeout(t);
    this.#rechecks.clear();
    await this.#scanning;
  }

  put(instance: Instance): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#puts.push({ instance, resolve, reject });
      if (this.#puts.length === 1) void this.#serial(() => this.#commitPuts());
    });
  }

  /**
   * Every put waiting for its turn, in one group commit: the files written and fsynced side by side,
   * the folder fsynced once (100 concurrent admin writes took 100 x two fsyncs one after another).
   * Each put still resolves only once its file is durable.
   */
  async #commitPuts(): Promise<void> {
    const planned = await Promise.all(
      this.#puts.splice(0).map(async (put) => {
        try {
          const file = this.#fileOf(put.instance.key) ?? `${put.instance.key}.yaml`;
          const text = instanceToYaml(put.instance);
          // The file may hold secrets (user-data): keep its mode; new files are 0600.
          const mode = await lstat(join(this.#dir, file)).then(
            (st) => (st.isFile() ? st.mode & 0o7777 : 0o600),
            () => 0o600,
          );
          return { put, file, text, mode };
        } catch (e) {
          put.reject(e);
          return undefined;
        }
      }),
    );
    const todo = planned.filter((e) => e !== undefined);
    const results = await writeFilesAtomic(
      todo.map((e) => ({ file: join(this.#dir, e.file), data: e.text, mode: e.mode })),
    );
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
    await this.#serial(async () => {
      const file = this.#fileOf(key);
      if (!file) return;
      await unlink(join(this.#dir, file)).catch((e: NodeJS.ErrnoException) => {
        if (e.code !== 'ENOENT') throw e;
      });
      await fsyncDir(this.#dir); // the removal is durable before it is acknowledged
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
      void this.#serial(async () => {
        await (full ? this.#scanAll(false) : this.#scanFiles(names));
      });
    }, this.#debounceMs);
  }

  /** Scans never overlap: each waits for the previous one. */
  #serial(fn: () => Promise<void>): Promise<void> {
    const next = this.#scanning.then(fn);
    this.#scanning = next.catch((e) => this.#log.error({ err: e }, 'inventory scan failed'));
    return next;
  }

  async #scanAll(initial: boolean): Promise<string[]> {
    const names = (await readdir(this.#dir)).filter(isInstanceFile);
    const present = new Set(names);
    for (const file of [...this.#files.keys()]) if (!present.has(file)) this.#forget(file);
    return this.#scanFiles(names, initial);
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

  /**
   * The file's content once settled: its mtime at least `settle` old and a re-read identical, or (for
   * an mtime in the future: clock skew) the same size, mtime and content seen `settle` apart. Content equal
   * to the applied one (`known`: the echo of our own writes) changes nothing: no wait, no second read.
   */
  async #settled(path: string, sync: boolean, known?: string): Promise<{ text: string } | { waitMs: number }> {
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

  #done(path: string, text: string): { text: string } {
    this.#observed.delete(path);
    return { text };
  }

  /** Returns the files not settled yet (each re-checked later unless `initial`). */
  async #scanFiles(names: readonly string[], initial = false): Promise<string[]> {
    const unsettled: string[] = [];
    // Files are read READ_AHEAD at a time (each read is several syscalls on the thread pool) and
    // applied one by one, in order. At start (nothing served yet) they are read synchronously.
    const read = inOrder(names, READ_AHEAD, (file) =>
      this.#settled(join(this.#dir, file), initial, this.#files.get(file)?.text),
    );
    for (const [i, file] of names.entries()) {
      let text: string;
      try {
        const r = await read(i);
        if ('waitMs' in r) {
          unsettled.push(file);
          if (!initial) this.#recheck(file, r.waitMs);
          continue;
        }
        text = r.text;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') this.#forget(file);
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

const same = (a: FileRead, b: FileRead): boolean => a.text === b.text && a.size === b.size && a.mtimeMs === b.mtimeMs;
