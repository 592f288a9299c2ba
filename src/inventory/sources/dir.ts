// Inventory source: a folder with one YAML file per instance, watched for changes. A bad file is
// reported (file and key) and the instance keeps its last good version; nothing is lost.
import { watch, type FSWatcher } from 'node:fs';
import { readdir, readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { isGuestgateError } from '../../errors.ts';
import { fsyncDir, writeFileAtomic, isTmpName } from '../../util/atomic-write.ts';
import type { ChangeListener, Instance, InventorySource } from '../model.ts';
import { instanceToYaml, parseInstanceYaml } from '../parse.ts';

interface Entry {
  readonly text: string;
  readonly instance: Instance;
}

const isInstanceFile = (name: string): boolean => /\.ya?ml$/.test(name) && !name.startsWith('.') && !isTmpName(name);

export class DirSource implements InventorySource {
  readonly kind = 'dir';
  readonly #dir: string;
  readonly #debounceMs: number;
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

  constructor(opts: { dir: string; debounceMs: number; log: Logger }) {
    this.#dir = opts.dir;
    this.#debounceMs = opts.debounceMs;
    this.#log = opts.log;
  }

  async start(onChange: ChangeListener): Promise<readonly Instance[]> {
    await this.#scanAll(true);
    this.#onChange = onChange;
    this.#watcher = watch(this.#dir, (_event, name) => this.#schedule(name ?? undefined));
    this.#watcher.on('error', (e) => this.#log.error({ err: e, dir: this.#dir }, 'inventory folder watch failed'));
    return [...this.#files.values()].map((e) => e.instance);
  }

  reload(): Promise<void> {
    return this.#serial(() => this.#scanAll(false));
  }

  async stop(): Promise<void> {
    this.#watcher?.close();
    clearTimeout(this.#timer);
    await this.#scanning;
  }

  async put(instance: Instance): Promise<void> {
    await this.#serial(async () => {
      const file = this.#fileOf(instance.key) ?? `${instance.key}.yaml`;
      const text = instanceToYaml(instance);
      await writeFileAtomic(join(this.#dir, file), text);
      this.#record(file, { text, instance });
    });
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
      void this.#serial(() => (full ? this.#scanAll(false) : this.#scanFiles(names)));
    }, this.#debounceMs);
  }

  /** Scans never overlap: each waits for the previous one. */
  #serial(fn: () => Promise<void>): Promise<void> {
    const next = this.#scanning.then(fn);
    this.#scanning = next.catch((e) => this.#log.error({ err: e }, 'inventory scan failed'));
    return next;
  }

  async #scanAll(initial: boolean): Promise<void> {
    const names = (await readdir(this.#dir)).filter(isInstanceFile);
    const present = new Set(names);
    for (const file of [...this.#files.keys()]) if (!present.has(file)) this.#forget(file);
    await this.#scanFiles(names, initial);
  }

  async #scanFiles(names: readonly string[], initial = false): Promise<void> {
    for (const file of names) {
      let text: string;
      try {
        text = await readFile(join(this.#dir, file), 'utf8');
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') this.#forget(file);
        else this.#log.error({ file: join(this.#dir, file), err: e }, 'cannot read instance file');
        continue;
      }
      if (this.#files.get(file)?.text === text) continue;
      try {
        const instance = parseInstanceYaml(text, join(this.#dir, file));
        const clash = this.#fileOf(instance.key);
        if (clash && clash !== file) {
          this.#log.error(
            { file: join(this.#dir, file), other: join(this.#dir, clash) },
            `instance "${instance.key}" is already defined in another file; ignored`,
          );
          continue;
        }
        this.#record(file, { text, instance });
      } catch (e) {
        if (!isGuestgateError(e)) throw e;
        this.#log.error(
          { file: join(this.#dir, file), code: e.code, ...e.fields },
          `${e.message}${initial ? '' : ' (keeping the last good version)'}`,
        );
      }
    }
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
    const before = this.#files.get(file)?.instance;
    if (!before) return;
    this.#files.delete(file);
    if (this.#fileByKey.get(before.key) === file) this.#fileByKey.delete(before.key);
    this.#onChange({ kind: 'remove', before });
  }
}
