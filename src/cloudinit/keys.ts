// Which instance config keys a guest may read, and the cloud-init identity derived from config.
import type { Instance } from '../inventory/model.ts';

/** Only user.* and cloud-init.* keys are ever visible to the guest. */
export const isGuestVisibleKey = (key: string): boolean => key.startsWith('user.') || key.startsWith('cloud-init.');

/** cloud-init's instance-id: volatile.cloud-init.instance-id, else the instance name (legacy instances). */
export function cloudInitInstanceId(instance: Instance): string {
  const id = instance.config['volatile.cloud-init.instance-id'];
  return id ? id : instance.name;
}

/** The guest-visible keys, as /1.0/config lists them (sorted: the order cloud-init fetches them in). */
export function guestConfigKeys(config: Readonly<Record<string, string>>): string[] {
  return Object.keys(config).filter(isGuestVisibleKey).sort();
}

/** Config keys whose change means a new cloud-init instance-id (LXD's needsNewInstanceID). */
export const INSTANCE_ID_KEYS: readonly string[] = [
  'cloud-init.user-data',
  'cloud-init.vendor-data',
  'cloud-init.network-config',
  'user.user-data',
  'user.vendor-data',
  'user.network-config',
];
