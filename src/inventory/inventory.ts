// The live set of instances and the indexes that answer "which instance is this caller?" with map
// lookups: pid namespace inode -> instance, cgroup path -> instance, address/token -> instance.
// Kernel objects are taken (and held, see holds.ts) when an instance is indexed, never per request.
import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import type { CallerFacts } from '../identity/facts.ts';
import { cgroupPrefixes } from '../identity/facts.ts';
import { raiseFdLimit } from '../identity/limits.ts';
import { mechanism } from '../identity/mechanism.ts';
import { closeFd, openPidfd, pidnsInode } from '../identity/pidfd.ts';
import { type IdMapRange, mapId, parseLxdIdmap } from '../identity/procfs.ts';
import { Holds } from './holds.ts';
import { InitPins } from './init-pins.ts';
import type { Instance, InventoryChange, InventorySource } from './model.ts';
import { jsonEqual } from '../util/json-equal.ts';

export interface Resolved {
  readonly instance: Instance;
  /** Host uid of the instance's root: only this uid may read; undefined when it cannot be established. */
  readonly rootUid: number | undefined;
}

interface Entry {
  readonly instance: Instance;
  rootUid: number | undefined;
  pidns: number | undefined;
  /** What this entry holds in each index, so removal is O(1) per key, not a scan. */
  readonly claims: [Map<unknown, Entry>, unknown][];
}

export interface InventoryEvents {
  change: [InventoryChange];
}

export class Inventory extends EventEmitter<InventoryEvents> {
  readonly source: InventorySource;
  readonly #log: Logger;
  readonly #demoInstance: string | undefined;
  readonly #ownPidns = ownPidns();
  readonly #holds: Holds;
  readonly #byKey = new Map<string, Entry>();
  readonly #byPidns = new Map<number, Entry>();
  readonly #byCgroup = new Map<string, Entry>();
  readonly #byAddress = new Map<string, Entry>();
  readonly #byToken = new Map<string, Entry>();

  readonly #pins: InitPins | undefined;

  /** `pinsFile`: where held init pids and their start times survive restarts (see init-pins.ts). */
  constructor(
    source: InventorySource,
    opts: { log: Logger; demoInstance?: string | undefined; pinsFile?: string | undefined },
  ) {
    super();
    this.source = source;
    this.#log = opts.log;
    this.#demoInstance = opts.demoInstance;
    this.#pins = opts.pinsFile === undefined ? undefined : new InitPins(opts.pinsFile, opts.log);
    this.#holds = new Holds(opts.log, (key) => this.#initExited(key), this.#pins);
  }

  async start(): Promise<void> {
    this.#pins?.load();
    const limit = raiseFdLimit();
    this.#log.info(
      { mechanism: mechanism().name, fd_soft_limit: limit?.soft, fd_hard_limit: limit?.hard },
      'guest identity through %s; open files limit %s (each instance indexed by init pid holds 2)',
      mechanism().name,
      limit?.soft,
    );
    const all = await this.source.start(
      (c) => this.apply(c),
      (key, pid) => this.#holds.liveInit(key, pid),
    );
    for (const i of all) this.#index(i);
    if (this.#demoInstance) {
      this.#log.warn(
        { instance: this.#demoInstance },
        '!!! DEMO MODE: every caller in guestgate\'s own pid namespace (i.e. the host) is treated as instance "%s". Never use this in production. !!!',
        this.#demoInstance,
      );
    }
  }

  async reload(): Promise<void> {
    await this.source.reload();
    // Kernel facts (init pids, uid maps) may have changed even where files did not: re-index all.
    for (const e of [...this.#byKey.values()]) this.#index(e.instance);
  }

  async stop(): Promise<void> {
    await this.source.stop();
    this.#holds.releaseAll();
    await this.#pins?.flush();
  }

  /** Descriptors held for indexed instances. */
  get heldFds(): number {
    return this.#holds.fds;
  }

  get size(): number {
    return this.#byKey.size;
  }

  get(key: string): Instance | undefined {
    return this.#byKey.get(key)?.instance;
  }

  list(): Instance[] {
    return [...this.#byKey.values()].map((e) => e.instance).sort((a, b) => a.key.localeCompare(b.key));
  }

  /** Apply a change reported by the source (or made through the admin API). */
  apply(change: InventoryChange): void {
    if (change.kind === 'remove') {
      const before = this.#byKey.get(change.before.key)?.instance;
      if (!before) return;
      this.#unindex(before.key);
      this.#holds.release(before.key);
      this.emit('change', { kind: 'remove', before });
      return;
    }
    const before = this.#byKey.get(change.after.key)?.instance;
    if (before && sameInstance(before, change.after)) return;
    this.#index(change.after);
    this.emit('change', { kind: 'upsert', before, after: change.after });
  }

  /** Which instance a connecting process belongs to: pid namespace first, then cgroup (by whole segments). */
  resolve(facts: CallerFacts): Resolved | undefined {
    if (facts.pidns !== undefined) {
      const e = this.#byPidns.get(facts.pidns);
      if (e) return e;
      if (this.#demoInstance && facts.pidns === this.#ownPidns) {
        const demo = this.#byKey.get(this.#demoInstance);
        if (demo) return { instance: demo.instance, rootUid: 0 }; // demo mode: host root, said loudly at start
      }
    }
    for (const path of facts.cgroups) {
      for (const prefix of cgroupPrefixes(path)) {
        const e = this.#byCgroup.get(prefix);
        if (e) return e;
      }
    }
    return undefined;
  }

  byAddress(address: string): Instance | undefined {
    return this.#byAddress.get(normalizeAddress(address))?.instance;
  }

  byToken(token: string): Instance | undefined {
    return this.#byToken.get(token)?.instance;
  }

  #index(instance: Instance): void {
    this.#unindex(instance.key);
    const held = this.#holds.take(instance);
    let pidns = held.init?.pidns ?? held.ns?.pidns;
    if (pidns !== undefined && pidns === this.#ownPidns) {
      // The host's own pid namespace never identifies an instance (every host process would be it).
      this.#log.error(
        { instance: instance.key, init_pid: instance.identity.initPid, pidns },
        "identity is the host's own pid namespace; not indexed by pid namespace",
      );
      pidns = undefined;
    }
    const entry: Entry = { instance, pidns, rootUid: rootUidOf(instance, held.init?.uidMap), claims: [] };
    this.#byKey.set(instance.key, entry);
    if (entry.rootUid === undefined) this.#logNoRoot(instance);
    const id = instance.identity;
    if (pidns !== undefined) this.#claim(this.#byPidns, pidns, entry, 'pid namespace');
    if (id.cgroup) this.#claim(this.#byCgroup, id.cgroup, entry, 'cgroup');
    for (const a of id.addresses ?? []) this.#claim(this.#byAddress, normalizeAddress(a), entry, 'address');
    if (id.nocloudToken) this.#claim(this.#byToken, id.nocloudToken, entry, 'nocloud token');
  }

  /** The init exited: its pid namespace stops identifying the instance at once, before any source says so. */
  #initExited(key: string): void {
    const e = this.#byKey.get(key);
    if (!e) return;
    if (e.pidns !== undefined && this.#byPidns.get(e.pidns) === e) this.#byPidns.delete(e.pidns);
    e.pidns = undefined;
    e.rootUid = rootUidOf(e.instance, undefined);
    this.#log.info({ instance: key }, 'init process exited; instance no longer identified by its pid namespace');
    if (e.rootUid === undefined) this.#logNoRoot(e.instance);
  }

  /**
   * An error while the instance may run; a stopped one's (its server says so: nothing in it can ask, and a
   * container LXD created but never started has no volatile.idmap.current yet) is only a debug line.
   */
  #logNoRoot(instance: Instance): void {
    const key = instance.key;
    this.#log[instance.status === 'Stopped' ? 'debug' : 'error'](
      { instance: key, missing: 'identity.root_uid' },
      'root uid of instance "%s" cannot be established (no live uid map, no volatile.idmap.current): set identity.root_uid; every request from it is refused until then',
      key,
    );
  }

  /** Two instances claiming the same kernel fact is a misconfiguration: refuse the second, loudly. */
  #claim<K>(index: Map<K, Entry>, k: K, entry: Entry, what: string): void {
    const other = index.get(k);
    if (other && other.instance.key !== entry.instance.key) {
      this.#log.error(
        { instance: entry.instance.key, other: other.instance.key, [what]: k },
        `${what} already belongs to another instance; not indexed`,
      );
      return;
    }
    index.set(k, entry);
    entry.claims.push([index as Map<unknown, Entry>, k]);
  }

  #unindex(key: string): void {
    const e = this.#byKey.get(key);
    if (!e) return;
    this.#byKey.delete(key);
    for (const [index, k] of e.claims) if (index.get(k) === e) index.delete(k);
  }
}

/** Host uid of instance root: explicit, else the held init's uid map, else LXD's volatile.idmap.current. Never a default. */
function rootUidOf(i: Instance, initMap: readonly IdMapRange[] | undefined): number | undefined {
  if (i.identity.rootUid !== undefined) return i.identity.rootUid;
  const fromInit = initMap && mapId(initMap, 0);
  if (fromInit !== undefined) return fromInit;
  const idmap = i.config['volatile.idmap.current'];
  const m = idmap ? parseLxdIdmap(idmap) : undefined;
  return m ? mapId(m, 0) : undefined;
}

function ownPidns(): number {
  const fd = openPidfd(process.pid);
  try {
    return pidnsInode(fd);
  } finally {
    closeFd(fd);
  }
}

const normalizeAddress = (a: string): string => a.replace(/^::ffff:/i, '').toLowerCase();

const sameInstance = (a: Instance, b: Instance): boolean => jsonEqual(a, b);
