// Pure: what putting an LXD/Incus container behind guestgate (attach) or giving it back its server's own
// guest API (detach) changes on the instance. Attach turns the server's switch off and adds disk devices
// that mount guestgate's socket folder where guests look (/dev/lxd; for Incus also /dev/incus, since
// cloud-init only knows /dev/lxd/sock). Detach removes exactly the devices attach adds (recognised by
// name) and the switch attach set. Steps are ordered for a running container: the server's own mount
// goes before ours comes, and ours goes before the server's comes back.
import { GuestgateError } from '../errors.ts';
import type { LxdInstance } from './api.ts';

export type ServerKind = 'lxd' | 'incus';

export interface AttachDevice {
  readonly name: string;
  readonly path: string;
}

export interface GuestApiSwitch {
  /** The config key that turns the server's own guest API off. */
  readonly key: string;
  readonly devices: readonly AttachDevice[];
}

export const ATTACH: Readonly<Record<ServerKind, GuestApiSwitch>> = {
  lxd: { key: 'security.devlxd', devices: [{ name: 'guestgate-lxd', path: '/dev/lxd' }] },
  incus: {
    key: 'security.guestapi',
    devices: [
      { name: 'guestgate-incus', path: '/dev/incus' },
      { name: 'guestgate-lxd', path: '/dev/lxd' },
    ],
  },
};

export type Step =
  | { readonly kind: 'set'; readonly key: string; readonly value: string }
  | { readonly kind: 'unset'; readonly key: string }
  | { readonly kind: 'add-device'; readonly name: string; readonly device: Readonly<Record<string, string>> }
  | { readonly kind: 'remove-device'; readonly name: string };

export interface Plan {
  /** `project/name` (or the name in project default). */
  readonly instance: string;
  readonly steps: readonly Step[];
  /** Things worth saying that change nothing (a device left alone, a profile's setting). */
  readonly notes: readonly string[];
}

const OFF = /^(false|0|off|no)$/i;
const isOff = (v: string | undefined): boolean => v !== undefined && OFF.test(v.trim());
const trimPath = (p: string | undefined): string => (p ?? '').replace(/\/+$/, '');

type Devices = Record<string, Record<string, string>>;

const strings = (v: unknown): Record<string, string> => {
  const out: Record<string, string> = {};
  if (typeof v === 'object' && v !== null && !Array.isArray(v))
    for (const [k, x] of Object.entries(v)) if (typeof x === 'string') out[k] = x;
  return out;
};

const devicesOf = (v: unknown): Devices => {
  const out: Devices = {};
  if (typeof v === 'object' && v !== null && !Array.isArray(v))
    for (const [k, d] of Object.entries(v)) out[k] = strings(d);
  return out;
};

export const instanceLabel = (project: string, name: string): string =>
  project === 'default' ? name : `${project}/${name}`;

function containerOnly(m: LxdInstance, label: string, verb: string): void {
  if (m.type === 'virtual-machine')
    throw new GuestgateError(
      'E_BAD_REQUEST',
      `${label} is a virtual machine: a VM reaches its guest API over vsock, so guestgate's socket cannot be mounted into it (cannot ${verb}; give VMs the NoCloud seed instead)`,
      { instance: label },
    );
}

/** The steps that put `m` behind guestgate's socket folder `socketDir`. */
export function attachPlan(m: LxdInstance, label: string, kind: ServerKind, socketDir: string): Plan {
  containerOnly(m, label, 'attach');
  const sw = ATTACH[kind];
  const expandedConfig = strings(m.expanded_config);
  const expandedDevices = devicesOf(m.expanded_devices);
  const localDevices = devicesOf(m.devices);
  const steps: Step[] = [];
  const notes: string[] = [];
  if (!isOff(expandedConfig[sw.key])) steps.push({ kind: 'set', key: sw.key, value: 'false' });
  const src = trimPath(socketDir);
  for (const want of sw.devices) {
    const device = { type: 'disk', source: src, path: want.path };
    const there = Object.entries(expandedDevices).filter(([, d]) => trimPath(d.path) === want.path);
    const ok = there.find(([, d]) => d.type === 'disk' && trimPath(d.source) === src);
    if (ok) {
      if (ok[0] !== want.name) notes.push(`device ${ok[0]} already mounts ${src} at ${want.path}`);
      continue;
    }
    const foreign = there.filter(([n]) => !(n === want.name && n in localDevices));
    if (foreign.length > 0)
      throw new GuestgateError(
        'E_CONFLICT',
        `${label}: device ${foreign[0]![0]} already uses ${want.path} (source ${foreign[0]![1].source ?? '-'}); remove it first, then attach`,
        { instance: label, device: foreign[0]![0] },
      );
    steps.push({ kind: 'add-device', name: want.name, device });
  }
  return { instance: label, steps, notes };
}

/** The steps that give `m` back its server's own guest API. */
export function detachPlan(m: LxdInstance, label: string, kind: ServerKind, socketDir: string): Plan {
  containerOnly(m, label, 'detach');
  const sw = ATTACH[kind];
  const localConfig = strings(m.config);
  const localDevices = devicesOf(m.devices);
  const steps: Step[] = [];
  const notes: string[] = [];
  const ours = new Set(sw.devices.map((d) => d.name));
  for (const d of sw.devices) if (d.name in localDevices) steps.push({ kind: 'remove-device', name: d.name });
  const src = trimPath(socketDir);
  for (const [n, d] of Object.entries(devicesOf(m.expanded_devices)))
    if (!ours.has(n) && d.type === 'disk' && trimPath(d.source) === src)
      notes.push(`device ${n} (not added by attach) still mounts ${src} at ${d.path ?? '?'}: left alone`);
  if (isOff(localConfig[sw.key])) steps.push({ kind: 'unset', key: sw.key });
  return { instance: label, steps, notes };
}

/** The instance's own config and devices after `steps` (for a PUT). */
export function applySteps(
  m: LxdInstance,
  steps: readonly Step[],
): { config: Record<string, string>; devices: Devices } {
  const config = strings(m.config);
  const devices = devicesOf(m.devices);
  for (const s of steps) {
    if (s.kind === 'set') config[s.key] = s.value;
    else if (s.kind === 'unset') delete config[s.key];
    else if (s.kind === 'add-device') devices[s.name] = { ...s.device };
    else delete devices[s.name];
  }
  return { config, devices };
}

/** One line per step, as the CLI prints it. */
export function describeStep(s: Step): string {
  if (s.kind === 'set') return `set ${s.key}=${s.value}`;
  if (s.kind === 'unset') return `unset ${s.key}`;
  if (s.kind === 'add-device') return `added device ${s.name} (disk ${s.device.source} at ${s.device.path})`;
  return `removed device ${s.name}`;
}

/** `isOff` for callers that check the result (a profile may still turn the API off after detach). */
export const switchIsOff = (m: LxdInstance, kind: ServerKind): boolean =>
  isOff(strings(m.expanded_config)[ATTACH[kind].key]);
