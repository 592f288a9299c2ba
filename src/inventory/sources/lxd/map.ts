// Pure: an instance as LXD/Incus reports it (`GET /1.0/instances?recursion=1` item, plus the init pid
// from `/state`) -> guestgate's Instance. Only string config/device values are kept (LXD sends strings).
import { instanceKey, type Instance, type InstanceType } from '../../model.ts';

/** The fields of LXD's api.Instance that guestgate reads. */
export type { LxdInstance } from '../../../lxd/api.ts';
import type { LxdInstance } from '../../../lxd/api.ts';

/** `/lxc.payload.<name>` in project default, `/lxc.payload.<project>_<name>` elsewhere (LXD's container naming). */
export const lxcCgroup = (project: string, name: string): string => `/lxc.payload.${instanceKey(project, name)}`;

const stringMap = (v: unknown): Record<string, string> => {
  const out: Record<string, string> = {};
  if (typeof v === 'object' && v !== null && !Array.isArray(v))
    for (const [k, x] of Object.entries(v)) if (typeof x === 'string') out[k] = x;
  return out;
};

/** Names of the profiles the instance uses (to re-read it when one of them changes). */
export function profilesOf(m: LxdInstance): string[] {
  return Array.isArray(m.profiles) ? m.profiles.filter((p): p is string => typeof p === 'string') : [];
}

export const isRunning = (m: LxdInstance): boolean => m.status === 'Running' || m.status === 'Ready';

/** How the server names its guest API: the folder inside guests and the key that turns it off. */
export interface GuestApiNames {
  readonly dir: string;
  readonly enabledKey: string;
}

export const GUEST_API_NAMES: Readonly<Record<'lxd' | 'incus', GuestApiNames>> = {
  lxd: { dir: '/dev/lxd', enabledKey: 'security.devlxd' },
  incus: { dir: '/dev/incus', enabledKey: 'security.guestapi' },
};

const FALSE = /^(false|0|off|no)$/i;

/**
 * guestgate fronting an instance: the operator turns the server's own guest API off (`security.devlxd=false`,
 * so the server mounts nothing at /dev/lxd) and adds a disk device that bind-mounts guestgate's socket
 * folder at /dev/lxd (Incus: /dev/incus, and /dev/lxd for cloud-init). For guestgate that device is plumbing (like the server's own implicit mount, it is
 * not shown to the guest) and the guest API is on. Returns the config and devices as guestgate serves them.
 */
export function frontedView(
  config: Record<string, string>,
  devices: Record<string, Readonly<Record<string, string>>>,
  names: GuestApiNames,
): { config: Record<string, string>; devices: Record<string, Readonly<Record<string, string>>> } {
  // Incus guests get the socket at /dev/lxd too (cloud-init looks only there): plumbing as well.
  const dirs = new Set([names.dir, GUEST_API_NAMES.lxd.dir]);
  const plumbing = Object.keys(devices).filter((k) => {
    const d = devices[k]!;
    return d.type === 'disk' && dirs.has((d.path ?? '').replace(/\/+$/, ''));
  });
  if (plumbing.length === 0) return { config, devices };
  const outDevices = { ...devices };
  for (const k of plumbing) delete outDevices[k];
  const outConfig = { ...config };
  const v = outConfig[names.enabledKey];
  if (v !== undefined && FALSE.test(v.trim())) delete outConfig[names.enabledKey];
  return { config: outConfig, devices: outDevices };
}

/**
 * Map one LXD instance. `defaultProject` is used when the server omits `project` (older servers).
 * `initPid` is the state's pid (only meaningful while running). Returns undefined for an unusable item.
 */
export function instanceFromLxd(
  m: LxdInstance,
  defaultProject: string,
  initPid?: number,
  names: GuestApiNames = GUEST_API_NAMES.lxd,
): Instance | undefined {
  if (typeof m.name !== 'string' || m.name === '') return undefined;
  const project = typeof m.project === 'string' && m.project !== '' ? m.project : defaultProject;
  const type: InstanceType = m.type === 'virtual-machine' ? 'virtual-machine' : 'container';
  const location = typeof m.location === 'string' && m.location !== '' ? m.location : 'none';
  const rawDevices: Record<string, Readonly<Record<string, string>>> = {};
  if (typeof m.expanded_devices === 'object' && m.expanded_devices !== null)
    for (const [k, d] of Object.entries(m.expanded_devices)) rawDevices[k] = Object.freeze(stringMap(d));
  const { config, devices } = frontedView(stringMap(m.expanded_config), rawDevices, names);
  // VMs reach the guest API over vsock (not through this socket): no kernel facts tie host processes to them.
  const container = type === 'container';
  const pid = container && isRunning(m) && typeof initPid === 'number' && initPid > 0 ? initPid : undefined;
  return Object.freeze({
    key: instanceKey(project, m.name),
    name: m.name,
    project,
    type,
    location,
    config: Object.freeze(config),
    devices: Object.freeze(devices),
    identity: Object.freeze({
      initPid: pid,
      cgroup: container ? lxcCgroup(project, m.name) : undefined,
      rootUid: undefined,
      addresses: undefined,
      nocloudToken: undefined,
    }),
    status: typeof m.status === 'string' && m.status !== '' ? m.status : undefined,
  });
}
