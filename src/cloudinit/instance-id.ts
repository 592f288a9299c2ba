// LXD's instance-id lifecycle (protocol spec §5): a new volatile.cloud-init.instance-id when an
// instance is created without one, and whenever cloud-init data or the set of NIC names changes,
// unless the writer set the id itself. Pure; the id generator is passed in.
import type { Instance } from '../inventory/model.ts';
import { INSTANCE_ID_KEYS } from './keys.ts';

const ID_KEY = 'volatile.cloud-init.instance-id';

const nicNames = (i: Instance): string =>
  Object.entries(i.devices)
    .filter(([, d]) => d.type === 'nic')
    .map(([n, d]) => d.name || n)
    .sort()
    .join(',');

export function needsNewInstanceId(before: Instance, after: Instance): boolean {
  if (before.config[ID_KEY] !== after.config[ID_KEY]) return false; // set explicitly by the writer
  if (before.name !== after.name) return true;
  for (const k of Object.keys({ ...before.config, ...after.config }))
    if ((INSTANCE_ID_KEYS.includes(k) || k.startsWith('cloud-init.ssh-keys.')) && before.config[k] !== after.config[k])
      return true;
  return nicNames(before) !== nicNames(after);
}

/** The instance as it should be stored after a write from `before` (undefined: a create). */
export function withInstanceId(before: Instance | undefined, after: Instance, newId: () => string): Instance {
  const regenerate = before ? needsNewInstanceId(before, after) : !after.config[ID_KEY];
  if (!regenerate) return after;
  return Object.freeze({ ...after, config: Object.freeze({ ...after.config, [ID_KEY]: newId() }) });
}
