// Inventory source: a real LXD or Incus server. Instances come from `GET /1.0/instances?recursion=1`
// (expanded config and devices) plus each running container's init pid from `/state`; they are kept
// current from the server's lifecycle event websocket: each event re-reads the instance it names (or,
// for a profile, the instances using it) and reports the result; the Inventory diffs, the EventHub turns
// diffs into guest events. On a lost connection: reconnect with backoff, then a full resync.
import type { Logger } from 'pino';
import type WebSocket from 'ws';
import { GuestgateError } from '../../errors.ts';
import type { Endpoint } from '../../net/http-client.ts';
import type { ReadyState } from '../../state/ready.ts';
import { instanceKey, type ChangeListener, type InitLiveness, type Instance, type InventorySource } from '../model.ts';
import { LxdClient } from '../../lxd/client.ts';
import { eventAction, type EventAction, type LxdEvent } from './lxd/events.ts';
import { GUEST_API_NAMES, instanceFromLxd, isRunning, profilesOf, type LxdInstance } from './lxd/map.ts';

export interface LxdSourceOptions {
  readonly kind: 'lxd' | 'incus';
  readonly endpoint: Endpoint;
  readonly project: string;
  readonly allProjects: boolean;
  readonly log: Logger;
  /** Reconnect backoff (default 250 ms doubling to 15 s). */
  readonly backoff?: { readonly minMs: number; readonly maxMs: number };
}

interface Known {
  readonly instance: Instance;
  readonly profiles: readonly string[];
}

type Work =
  | { readonly kind: 'resync' }
  /** `samePid`: the event cannot have changed the init pid (a config/device update). */
  | { readonly kind: 'reread'; readonly project: string; readonly name: string; readonly samePid?: boolean }
  | { readonly kind: 'remove'; readonly project: string; readonly name: string };

interface Slot {
  pending: Pending | undefined;
  running: Promise<void> | undefined;
}

interface Pending {
  readonly work: Work;
  readonly done: (() => void)[];
}

const STATE_READS_IN_PARALLEL = 8;
const READY_KEY = 'volatile.last_state.ready';

export class LxdSource implements InventorySource {
  readonly kind: 'lxd' | 'incus';
  readonly #client: LxdClient;
  readonly #opts: LxdSourceOptions;
  readonly #log: Logger;
  readonly #projectQuery: string;
  readonly #known = new Map<string, Known>();
  /** Per instance key (plus 'resync'): the work running and the one waiting (newer replaces older). */
  readonly #slots = new Map<string, Slot>();
  /** Sequence number of the read whose result each key holds. */
  readonly #stamps = new Map<string, number>();
  #seq = 0;
  #active = 0;
  readonly #waiters: (() => void)[] = [];
  #onChange: ChangeListener = () => {};
  #liveInit: InitLiveness = () => false;
  #running = false;
  #ws: WebSocket | undefined;
  #retryTimer: NodeJS.Timeout | undefined;
  #attempt = 0;
  #stopped = false;
  #readyInLxd = false;
  /** Why the server cannot be reached right now (for /healthz), or undefined. */
  unreachable: string | undefined;
  /** Number of times the event stream was (re)connected; for tests and metrics. */
  connects = 0;

  constructor(opts: LxdSourceOptions) {
    this.kind = opts.kind;
    this.#opts = opts;
    this.#log = opts.log;
    this.#client = new LxdClient(opts.endpoint);
    this.#projectQuery = opts.allProjects ? 'all-projects=true' : `project=${encodeURIComponent(opts.project)}`;
  }

  /** The server stores readiness itself (`volatile.last_state.ready`, extension instance_ready_state). */
  get readyInServer(): boolean {
    return this.#readyInLxd;
  }

  async start(onChange: ChangeListener, liveInit?: InitLiveness): Promise<readonly Instance[]> {
    if (liveInit) this.#liveInit = liveInit;
    const info = await this.#client.info().catch((e: unknown) => {
      throw new GuestgateError(
        'E_UNAVAILABLE',
        `inventory source ${this.kind}: ${(e as Error).message}`,
        { where: this.#client.where },
        { cause: e },
      );
    });
    this.#readyInLxd = info.extensions.has('instance_ready_state');
    // Subscribe before listing, so no change between the two is missed.
    await this.#connect().catch((e: unknown) => {
      this.#client.close();
      throw new GuestgateError(
        'E_UNAVAILABLE',
        `inventory source ${this.kind}: cannot open the event stream of ${this.#client.where}: ${(e as Error).message}`,
        {
          where: this.#client.where,
        },
      );
    });
    for (const k of await this.#readAll()) this.#known.set(k.instance.key, k);
    this.#onChange = onChange;
    this.#running = true;
    this.#kickAll();
    this.#log.info(
      { where: this.#client.where, instances: this.#known.size, ready_in_server: this.#readyInLxd },
      'LXD inventory loaded',
    );
    return [...this.#known.values()].map((k) => k.instance);
  }

  reload(): Promise<void> {
    return this.#enqueue('resync', { kind: 'resync' });
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#retryTimer);
    this.#ws?.terminate();
    this.#ws = undefined;
    this.#running = false;
    const running = [...this.#slots.values()].map((s) => s.running);
    for (const s of this.#slots.values()) for (const d of s.pending?.done ?? []) d();
    this.#slots.clear();
    await Promise.all(running);
    this.#client.close();
  }

  /** Readiness where LXD users look for it: `volatile.last_state.ready`, when the server has that notion. */
  async recordReady(key: string, state: ReadyState): Promise<void> {
    if (!this.#readyInLxd) return;
    const k = this.#known.get(key);
    if (!k) return;
    try {
      await this.#client.patchConfig(k.instance.project, k.instance.name, {
        [READY_KEY]: state === 'Ready' ? 'true' : 'false',
      });
    } catch (e) {
      this.#log.warn({ err: e, instance: key }, 'could not record readiness in LXD (guestgate keeps its own record)');
    }
  }

  /** Feed one event (from the websocket; exposed for tests). */
  handleEvent(e: LxdEvent): void {
    const a: EventAction = eventAction(e, (p) => this.#opts.allProjects || p === this.#opts.project);
    switch (a.kind) {
      case 'ignore':
        return;
      case 'reread':
        void this.#enqueue(instanceKey(a.project, a.name), {
          kind: 'reread',
          project: a.project,
          name: a.name,
          samePid: a.samePid,
        });
        return;
      case 'remove':
        void this.#enqueue(instanceKey(a.project, a.name), { kind: 'remove', project: a.project, name: a.name });
        return;
      case 'rename':
        void this.#enqueue(instanceKey(a.project, a.oldName), { kind: 'remove', project: a.project, name: a.oldName });
        void this.#enqueue(instanceKey(a.project, a.name), { kind: 'reread', project: a.project, name: a.name });
        return;
      case 'profile':
        for (const k of this.#known.values())
          if (k.instance.project === a.project && k.profiles.includes(a.profile))
            void this.#enqueue(k.instance.key, {
              kind: 'reread',
              project: a.project,
              name: k.instance.name,
              samePid: true,
            });
        return;
    }
  }

  #connect(): Promise<void> {
    return new Promise((resolve, reject) => {
      const ws = this.#client.events(this.#projectQuery);
      let opened = false;
      ws.on('open', () => {
        opened = true;
        this.#ws = ws;
        this.connects++;
        this.#attempt = 0;
        this.unreachable = undefined;
        resolve();
      });
      ws.on('message', (data, isBinary) => {
        if (isBinary) return;
        try {
          this.handleEvent(JSON.parse(String(data)) as LxdEvent);
        } catch (e) {
          this.#log.warn({ err: e }, 'unreadable LXD event');
        }
      });
      ws.on('error', (e) => {
        if (!opened) reject(e);
        else this.#log.warn({ err: e, where: this.#client.where }, 'LXD event stream error');
      });
      ws.on('close', () => {
        if (!opened) return reject(new Error('connection closed before the handshake'));
        if (this.#ws === ws) this.#ws = undefined;
        if (!this.#stopped) {
          this.unreachable = `${this.#client.where}: event stream closed; reconnecting`;
          this.#log.warn({ where: this.#client.where }, 'LXD event stream closed; reconnecting');
          this.#scheduleReconnect();
        }
      });
    });
  }

  #scheduleReconnect(): void {
    if (this.#stopped) return;
    const { minMs, maxMs } = this.#opts.backoff ?? { minMs: 250, maxMs: 15_000 };
    const delay = Math.min(maxMs, minMs * 2 ** this.#attempt++);
    this.#retryTimer = setTimeout(() => {
      this.#connect().then(
        () => {
          this.#log.info({ where: this.#client.where }, 'LXD event stream reconnected; resyncing');
          void this.#enqueue('resync', { kind: 'resync' });
        },
        (e: unknown) => {
          this.unreachable = `${this.#client.where}: ${(e as Error)?.message ?? String(e)}`;
          this.#log.debug({ err: e, where: this.#client.where, attempt: this.#attempt }, 'LXD still unreachable');
          this.#scheduleReconnect();
        },
      );
    }, delay);
  }

  #enqueue(id: string, work: Work): Promise<void> {
    if (this.#stopped) return Promise.resolve();
    return new Promise((resolve) => {
      let slot = this.#slots.get(id);
      if (!slot) {
        slot = { pending: undefined, running: undefined };
        this.#slots.set(id, slot);
      }
      // Work not started yet is replaced: a later read sees everything an earlier one would.
      slot.pending = { work, done: [...(slot.pending?.done ?? []), resolve] };
      this.#kick(id, slot);
    });
  }

  /** Each instance key (and 'resync') has its own chain, so one busy instance never delays another's events. */
  #kick(id: string, slot: Slot): void {
    if (!this.#running || slot.running || !slot.pending) return;
    slot.running = (async () => {
      while (slot.pending && this.#running) {
        const p = slot.pending;
        slot.pending = undefined;
        await this.#limit(() => this.#run(p.work)).catch((e: unknown) => {
          // Typically LXD going away; the closed event stream triggers a reconnect and a full resync.
          this.#log.warn({ err: e, work: p.work }, 'LXD inventory update failed');
        });
        for (const d of p.done) d();
      }
      slot.running = undefined;
      if (!slot.pending && this.#slots.get(id) === slot) this.#slots.delete(id);
    })();
  }

  #kickAll(): void {
    for (const [id, slot] of this.#slots) this.#kick(id, slot);
  }

  /** At most STATE_READS_IN_PARALLEL pieces of work talk to the server at once. */
  async #limit<T>(fn: () => Promise<T>): Promise<T> {
    while (this.#active >= STATE_READS_IN_PARALLEL) await new Promise<void>((r) => this.#waiters.push(r));
    this.#active++;
    try {
      return await fn();
    } finally {
      this.#active--;
      this.#waiters.shift()?.();
    }
  }

  async #run(w: Work): Promise<void> {
    const seq = ++this.#seq;
    if (w.kind === 'remove') return this.#forget(instanceKey(w.project, w.name), seq);
    if (w.kind === 'reread') {
      const key = instanceKey(w.project, w.name);
      const m = await this.#client.get(w.project, w.name);
      const k =
        m &&
        (await this.#toKnown(m, w.project, w.samePid ? this.#known.get(key)?.instance.identity.initPid : undefined));
      if (!k) return this.#forget(key, seq);
      return this.#record(k, seq);
    }
    const all = await this.#readAll();
    const present = new Set(all.map((k) => k.instance.key));
    for (const key of [...this.#known.keys()]) if (!present.has(key)) this.#forget(key, seq);
    for (const k of all) this.#record(k, seq);
  }

  async #readAll(): Promise<Known[]> {
    const list = await this.#client.list(this.#projectQuery);
    const out: (Known | undefined)[] = new Array(list.length);
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < list.length) {
        const i = next++;
        out[i] = await this.#toKnown(list[i]!, this.#opts.project);
      }
    };
    await Promise.all(Array.from({ length: Math.min(STATE_READS_IN_PARALLEL, list.length) }, worker));
    return out.filter((k): k is Known => k !== undefined);
  }

  /**
   * `knownPid`: the init pid already known for this instance, reused (no `/state` round trip, which
   * costs LXD far more than the instance itself) when the event cannot have changed it and the
   * inventory still holds that very process by a pidfd (a pid alone proves nothing: it may be reused).
   */
  async #toKnown(m: LxdInstance, project: string, knownPid?: number): Promise<Known | undefined> {
    const p = typeof m.project === 'string' && m.project !== '' ? m.project : project;
    let pid: number | undefined;
    if (m.type !== 'virtual-machine' && isRunning(m) && typeof m.name === 'string')
      pid =
        knownPid !== undefined && this.#liveInit(instanceKey(p, m.name), knownPid)
          ? knownPid
          : await this.#client.initPid(p, m.name);
    const instance = instanceFromLxd(m, project, pid, GUEST_API_NAMES[this.kind]);
    return instance && { instance, profiles: profilesOf(m) };
  }

  /** Reads may overlap (a resync and an event's re-read): the one that started last wins. */
  #fresh(key: string, seq: number): boolean {
    if ((this.#stamps.get(key) ?? 0) > seq) return false;
    this.#stamps.set(key, seq);
    return true;
  }

  #record(k: Known, seq: number): void {
    if (!this.#fresh(k.instance.key, seq)) return;
    const before = this.#known.get(k.instance.key);
    this.#known.set(k.instance.key, k);
    if (before && JSON.stringify(before.instance) === JSON.stringify(k.instance)) return;
    this.#onChange({ kind: 'upsert', before: before?.instance, after: k.instance });
  }

  #forget(key: string, seq: number): void {
    if (!this.#fresh(key, seq)) return;
    const before = this.#known.get(key);
    if (!before) return;
    this.#known.delete(key);
    this.#onChange({ kind: 'remove', before: before.instance });
  }
}
