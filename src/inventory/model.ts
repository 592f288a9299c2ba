// The instance model: what `lxc config show --expanded` prints, plus how guestgate recognises the
// instance's processes. Sources (dir of YAML, real LXD/Incus, admin API) all produce this shape.

export type InstanceType = 'container' | 'virtual-machine';

/** Kernel facts that tie host processes to an instance. Never anything a guest can write. */
export interface InstanceIdentity {
  /** Host pid of the instance's init; its pid namespace (and uid map) identify the instance. */
  readonly initPid?: number | undefined;
  /** Start time of the init (field 22 of /proc/<pid>/stat): proves a stored initPid still names it. */
  readonly initStartTime?: number | undefined;
  /** A pid namespace file (/proc/<pid>/ns/pid or a bind mount of it), held open while indexed. */
  readonly pidnsFile?: string | undefined;
  /** Cgroup path of the instance (e.g. /lxc.payload.c1); matched by whole path segments. */
  readonly cgroup?: string | undefined;
  /** Host uid that the instance's root maps to; default: from initPid's uid_map, else volatile.idmap.current; never guessed. */
  readonly rootUid?: number | undefined;
  /** Source addresses of the instance (NoCloud over HTTP identifies callers by these). */
  readonly addresses?: readonly string[] | undefined;
  /** Secret for the NoCloud capability URL (/nocloud/<token>/). */
  readonly nocloudToken?: string | undefined;
}

export interface Instance {
  /** Unique key in guestgate: the name in project `default`, else `<project>_<name>` (LXD's own convention). */
  readonly key: string;
  readonly name: string;
  readonly project: string;
  readonly type: InstanceType;
  readonly location: string;
  /** Expanded config, every value a string. */
  readonly config: Readonly<Record<string, string>>;
  /** Expanded devices: name -> flat string map. */
  readonly devices: Readonly<Record<string, Readonly<Record<string, string>>>>;
  readonly identity: InstanceIdentity;
  /** The server's own status (Running, Stopped, Frozen, ...) for instances of an LXD/Incus source. */
  readonly status?: string | undefined;
}

export const instanceKey = (project: string, name: string): string =>
  project === 'default' ? name : `${project}_${name}`;

/** LXD instance names: 1-63 chars, letters, digits and dashes, not starting with a digit or dash. */
export const INSTANCE_NAME = /^[A-Za-z][A-Za-z0-9-]{0,62}$/;

/** A change to the set of instances, as sources report it. */
export type InventoryChange =
  | { readonly kind: 'upsert'; readonly before: Instance | undefined; readonly after: Instance }
  | { readonly kind: 'remove'; readonly before: Instance };

export type ChangeListener = (change: InventoryChange) => void;

/** Whether the inventory holds instance `key`'s init `pid` by a pidfd and it still runs (never a /proc guess). */
export type InitLiveness = (key: string, pid: number) => boolean;

/** Where instances come from. A source pushes full instances; the Inventory diffs and indexes. */
export interface InventorySource {
  readonly kind: string;
  /** Load everything once (throws a clear error when the source is unusable), then keep watching. */
  start(onChange: ChangeListener, held?: InitLiveness): Promise<readonly Instance[]>;
  /** Re-read everything (SIGHUP). */
  reload(): Promise<void>;
  stop(): Promise<void>;
  /** Writable sources persist an instance durably before resolving (admin API). */
  put?(instance: Instance): Promise<void>;
  remove?(key: string): Promise<void>;
  /**
   * Record a guest's readiness where the backend's own users look for it (LXD/Incus:
   * `volatile.last_state.ready`, when the server supports it). Never throws; guestgate's ReadyStore
   * stays the record either way.
   */
  recordReady?(key: string, state: 'Ready' | 'Started'): Promise<void>;
  /** Files refused right now (dir source): /healthz and guestgate_inventory_rejected_files. */
  readonly rejected?: ReadonlySet<string>;
  /** Why the backing server cannot be reached right now (LXD/Incus source), or undefined. */
  readonly unreachable?: string | undefined;
  /** Other reasons the source serves from last known state (a cluster member in error), or empty. */
  readonly degraded?: readonly string[];
}
