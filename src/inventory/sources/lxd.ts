// Inventory source: a real LXD or Incus server. Instances come from `GET /1.0/instances?recursion=1`
// (expanded config and devices) plus each running container's init pid from `/state`; they are kept
// current from the server's lifecycle event websocket: each event re-reads the instance it names (or,
// for a profile, the instances using it) and reports the result; the Inventory diffs, the EventHub turns
// diffs into guest events. On a lost connection: reconnect with backoff, then a full resync.
import type { Logger } from 'pino';
import { GuestgateError } from '../../errors.ts';
import type { Endpoint } from '../../net/http-client.ts';
import type { ReadyState } from '../../state/ready.ts';
import { LatestWriter } from './lxd/latest-writer.ts';
import { instanceKey, type ChangeListener, type InitLiveness, type Instance, type InventorySource } from '../model.ts';
import { LxdClient } from '../../lxd/client.ts';
import { lostReason, placementOf, remoteView } from './lxd/member.ts';
import { learnMember } from './lxd/membership.ts';
import { EventStream } from './lxd/event-stream.ts';
import { KeyedWork } from './lxd/keyed-work.ts';
import { InitPids } from './lxd/init-pids.ts';
import { eventAction, type LxdEvent } from './lxd/events.ts';
import { type Work, workFor } from './lxd/work.ts';
import { GUEST_API_NAMES, instanceFromLxd, isRunning, profilesOf, type LxdInstance } from './lxd/map.ts';
import { inOrder } from '../../util/in-order.ts';

export interface LxdSourceOptions {
  readonly kind: 'lxd' | 'incus';
  readonly endpoint: Endpoint;
  readonly project: string;
  readonly allProjects: boolean;
  /** This gateway's cluster member (`inventory.member`); default: the server's own name when clustered. */
  readonly member?: string | undefined;
  readonly log: Logger;
  /** Reconnect backoff (default 250 ms doubling to 15 s). */
  readonly backoff?: { readonly minMs: number; readonly maxMs: number };
}

interface Known {
  readonly instance: Instance;
  readonly profiles: readonly string[];
}
/** An instance of this member that the cluster reports in `Error`: its last known record is kept. */
interface Lost {
  readonly lost: string;
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
  readonly #work: KeyedWork<Work> = new KeyedWork<Work>({
    limit: STATE_READS_IN_PARALLEL,
    run: (w) => this.#run(w),
    // Typically LXD going away; the closed event stream triggers a reconnect and a full resync.
    onError: (e, work) => this.#log.warn({ err: e, work }, 'LXD inventory update failed'),
  });
  /** Sequence number of the read whose result each key holds. */
  readonly #stamps = new Map<string, number>();
  #seq = 0;
  #onChange: ChangeListener = () => {};
  #liveInit: InitLiveness = () => false;
  readonly #pids: InitPids;
  #readyInLxd = false;
  #member: string | undefined;
  /** Keys of this member's instances served from last known state (the cluster reports them in Error). */
  readonly #lost = new Set<string>();
  readonly #events: EventStream;
  /** Why the server cannot be reached right now (for /healthz), or undefined. */
  get unreachable(): string | undefined {
    return this.#events.unreachable;
  }

  /** This gateway's cluster member; undefined on a standalone server (every instance is local). */
  get member(): string | undefined {
    return this.#member;
  }

  /** Why some instances are served from last known state (for /healthz), or nothing. */
  get degraded(): readonly string[] {
    return this.#lost.size === 0 ? [] : [lostReason(this.#member, this.#lost)];
  }

  constructor(opts: LxdSourceOptions) {
    this.kind = opts.kind;
    this.#opts = opts;
    this.#log = opts.log;
    this.#client = new LxdClient(opts.endpoint);
    this.#projectQuery = opts.allProjects ? 'all-projects=true' : `project=${encodeURIComponent(opts.project)}`;
    this.#events = new EventStream({
      client: this.#client,
      query: this.#projectQuery,
      log: opts.log,
      onEvent: (e) => this.handleEvent(e),
      onReconnect: () => void this.#work.enqueue('resync', { kind: 'resync' }),
      backoff: opts.backoff,
    });
    this.#pids = new InitPids({
      client: this.#client,
      log: opts.log,
      backoff: opts.backoff ?? { minMs: 250, maxMs: 15_000 },
      reread: (project, name) => void this.#work.enqueue(instanceKey(project, name), { kind: 'reread', project, name }),
      heldAlive: (key) => this.#heldAlive(key),
    });
  }

  /** Number of times the event stream was (re)connected; for tests and metrics. */
  get connects(): number {
    return this.#events.connects;
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
    this.#member = await learnMember(this.#client, this.#opts.member, info, this.kind).catch((e: unknown) => {
      this.#client.close();
      throw e;
    });
    // Subscribe before listing, so no change between the two is missed.
    await this.#events.connect().catch((e: unknown) => {
      this.#client.close();
      throw new GuestgateError(
        'E_UNAVAILABLE',
        `inventory source ${this.kind}: cannot open the event stream of ${this.#client.where}: ${(e as Error).message}`,
        {
          where: this.#client.where,
        },
      );
    });
    for (const k of (await this.#readAll()).known) this.#known.set(k.instance.key, k);
    this.#onChange = onChange;
    this.#work.start();
    this.#log.info(
      {
        where: this.#client.where,
        instances: this.#known.size,
        member: this.#member ?? '(standalone)',
        local: [...this.#known.values()].filter((k) => k.instance.identity.cgroup !== undefined).length,
        ready_in_server: this.#readyInLxd,
      },
      'LXD inventory loaded',
    );
    return [...this.#known.values()].map((k) => k.instance);
  }

  reload(): Promise<void> {
    return this.#work.enqueue('resync', { kind: 'resync' });
  }

  async stop(): Promise<void> {
    this.#events.stop();
    this.#pids.stop();
    await this.#work.stop();
    this.#client.close();
  }

  /**
   * Readiness where LXD users look for it: `volatile.last_state.ready`, when the server has that notion.
   * One ordered chain of writes per instance, bursts coalesced, the last state wins (LatestWriter).
   */
  recordReady(key: string, state: ReadyState): Promise<void> {
    if (!this.#readyInLxd) return Promise.resolve();
    return this.#readyWriter.set(key, state);
  }

  readonly #readyWriter = new LatestWriter<ReadyState>((key, state) => this.#writeReady(key, state));

  async #writeReady(key: string, state: ReadyState): Promise<void> {
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
    const a = eventAction(e, (p) => this.#opts.allProjects || p === this.#opts.project);
    for (const [id, w] of workFor(a, this.#known.values())) void this.#work.enqueue(id, w);
  }

  async #run(w: Work): Promise<void> {
    const seq = ++this.#seq;
    if (w.kind === 'remove') return this.#forget(instanceKey(w.project, w.name), seq);
    if (w.kind === 'reread') {
      const key = instanceKey(w.project, w.name);
      const m = await this.#client.get(w.project, w.name);
      const k = m && (await this.#toKnown(m, w.project, w.samePid));
      if (!k) return this.#forget(key, seq);
      if ('lost' in k) return this.#keepLost(k.lost, seq);
      return this.#record(k, seq);
    }
    const all = await this.#readAll();
    const present = new Set([...all.known.map((k) => k.instance.key), ...all.lost]);
    for (const key of [...this.#known.keys()]) if (!present.has(key)) this.#forget(key, seq);
    for (const key of all.lost) this.#keepLost(key, seq);
    for (const k of all.known) this.#record(k, seq);
  }

  async #readAll(): Promise<{ known: Known[]; lost: string[] }> {
    const list = await this.#client.list(this.#projectQuery);
    const read = inOrder(list, STATE_READS_IN_PARALLEL, (m) => this.#toKnown(m, this.#opts.project));
    const known: Known[] = [];
    const lost: string[] = [];
    for (let i = 0; i < list.length; i++) {
      const k = await read(i);
      if (k) 'lost' in k ? lost.push(k.lost) : known.push(k);
    }
    return { known, lost };
  }

  /**
   * `samePid`: the event cannot have changed the init pid, so the one held is reused (no `/state` round
   * trip, which costs LXD far more than the instance itself) while the inventory still holds that very
   * process by a pidfd (a pid alone proves nothing: it may be reused).
   */
  async #toKnown(m: LxdInstance, project: string, samePid = false): Promise<Known | Lost | undefined> {
    const p = typeof m.project === 'string' && m.project !== '' ? m.project : project;
    const key = typeof m.name === 'string' ? instanceKey(p, m.name) : undefined;
    // Cluster: another member's pid names a process on another host; never ask for it, never index it.
    const place = placementOf(m, this.#member);
    if (place === 'lost' && key !== undefined && this.#known.has(key)) return { lost: key };
    let pid: number | undefined;
    if (place === 'local' && m.type !== 'virtual-machine' && isRunning(m) && key !== undefined)
      pid = (samePid ? this.#heldAlive(key) : undefined) ?? (await this.#pids.read(key, p, String(m.name)));
    else if (key !== undefined) this.#pids.forget(key);
    const instance = instanceFromLxd(m, project, pid, GUEST_API_NAMES[this.kind]);
    return instance && { instance: place === 'local' ? instance : remoteView(instance), profiles: profilesOf(m) };
  }

  /** The init pid the inventory holds for `key`, if that very process still runs (held by a pidfd). */
  #heldAlive(key: string): number | undefined {
    const pid = this.#known.get(key)?.instance.identity.initPid;
    return pid !== undefined && this.#liveInit(key, pid) ? pid : undefined;
  }

  /** The cluster reports this member's instance in Error (its daemon is down): keep what was known. */
  #keepLost(key: string, seq: number): void {
    if (!this.#fresh(key, seq)) return;
    if (!this.#lost.has(key))
      this.#log.warn({ instance: key, member: this.#member }, 'member in error: keeping last known state');
    this.#lost.add(key);
  }

  /** Reads may overlap (a resync and an event's re-read): the one that started last wins. */
  #fresh(key: string, seq: number): boolean {
    if ((this.#stamps.get(key) ?? 0) > seq) return false;
    this.#stamps.set(key, seq);
    return true;
  }

  #record(k: Known, seq: number): void {
    if (!this.#fresh(k.instance.key, seq)) return;
    this.#lost.delete(k.instance.key);
    const before = this.#known.get(k.instance.key);
    this.#known.set(k.instance.key, k);
    if (before && JSON.stringify(before.instance) === JSON.stringify(k.instance)) return;
    this.#onChange({ kind: 'upsert', before: before?.instance, after: k.instance });
  }

  #forget(key: string, seq: number): void {
    if (!this.#fresh(key, seq)) return;
    this.#lost.delete(key);
    this.#pids.forget(key);
    const before = this.#known.get(key);
    if (!before) return;
    this.#known.delete(key);
    this.#onChange({ kind: 'remove', before: before.instance });
  }
}
