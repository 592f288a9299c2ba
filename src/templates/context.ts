// The context LXD 5.0.2 gives image templates (lxd/instance/drivers templateApplyNow): trigger,
// path, instance/container (same map, every value a string), config, devices, properties and
// config_get(key, default), which strips ALL trailing \r/\n from a set value but not from the
// default. An empty config value is a missing key (LXD deletes keys set to "").
import type { Instance } from '../inventory/model.ts';
import type { TraceRoots } from './trace.ts';
import { Fn, toStr, type Value, type VMap } from './values.ts';

export const TRIGGERS = ['create', 'copy', 'start', 'rename'] as const;
export type Trigger = (typeof TRIGGERS)[number];
export const isTrigger = (s: string): s is Trigger => (TRIGGERS as readonly string[]).includes(s);

/** The architecture name LXD shows (x86_64, aarch64, ...): the host's (instances run on it). */
const architecture = (): string => ARCH[process.arch] ?? process.arch;

const ARCH: Record<string, string> = { x64: 'x86_64', arm64: 'aarch64', arm: 'armv7l', ia32: 'i686', ppc64: 'ppc64le' };

const isTrue = (v: string | undefined): boolean => ['true', '1', 'yes', 'on'].includes((v ?? '').toLowerCase());

export function templateContext(
  instance: Instance,
  trigger: Trigger,
  path: string,
  properties: Readonly<Record<string, string>>,
): VMap {
  const config: Record<string, Value> = {};
  for (const [k, v] of Object.entries(instance.config)) if (v !== '') config[k] = v;
  const meta: VMap = {
    name: instance.name,
    type: instance.type,
    architecture: architecture(),
    privileged: isTrue(instance.config['security.privileged']) ? 'true' : 'false',
    ephemeral: isTrue(instance.config['volatile.ephemeral'] ?? instance.config['ephemeral']) ? 'true' : 'false',
  };
  const configGet = new Fn('config_get', 2, ([key, dflt]) => {
    const k = toStr(key ?? null);
    if (!Object.hasOwn(config, k)) return dflt ?? null;
    return toStr(config[k]!).replace(/[\r\n]+$/, '');
  });
  return {
    trigger,
    path,
    instance: meta,
    container: meta,
    config,
    devices: instance.devices as VMap,
    properties: { ...properties },
    config_get: configGet,
  };
}

/**
 * How the preview names what a line came from: config keys by their own name (whether read with
 * config_get or config.*; `<key> (unset)` when the instance lacks it), `properties.<k>`,
 * `instance.<k>` (container too: the same map), `devices.<name>`. config_get with a set key names
 * only the key (its default is not used); unset, the key and what the default read. `more` adds
 * roots of extra context (e.g. guestgate.*).
 */
export function traceRoots(ctx: VMap, more: TraceRoots['maps'] = new Map()): TraceRoots {
  const maps = new Map<object, (key: string) => readonly string[]>(more);
  const named = (v: Value | undefined, prefix: string) => {
    if (v && typeof v === 'object') maps.set(v, (k) => [`${prefix}${k}`]);
  };
  const config = ctx.config as VMap;
  const key = (k: string) => (Object.hasOwn(config, k) ? k : `${k} (unset)`);
  maps.set(config, (k) => [key(k)]);
  named(ctx.properties, 'properties.');
  named(ctx.instance, 'instance.');
  named(ctx.devices, 'devices.');
  const fns = new Map<Fn, (args: readonly Value[], argKeys: readonly string[]) => readonly string[]>();
  if (ctx.config_get instanceof Fn)
    fns.set(ctx.config_get, ([k], argKeys) => {
      const name = key(toStr(k ?? null));
      return name === toStr(k ?? null) ? [name] : [name, ...argKeys];
    });
  return { maps, fns };
}
