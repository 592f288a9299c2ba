// What a guest is told when its instance changes (pure): one `config` event per changed user.* key
// (never cloud-init.*, security.*, volatile.*), then device events: removed, updated, added.
import type { Instance } from '../../inventory/model.ts';
import type { GuestEvent } from './encode.ts';

export function instanceEvents(
  before: Instance,
  after: Instance,
  opts: { deviceUpdate: 'updated' | 'remove-add' },
): GuestEvent[] {
  const out: GuestEvent[] = [];
  const keys = new Set([...Object.keys(before.config), ...Object.keys(after.config)]);
  for (const key of [...keys].sort()) {
    if (!key.startsWith('user.')) continue;
    const old_value = before.config[key] ?? '';
    const value = after.config[key] ?? '';
    if (old_value !== value) out.push({ type: 'config', metadata: { key, old_value, value } });
  }
  const removed: GuestEvent[] = [];
  const updated: GuestEvent[] = [];
  const added: GuestEvent[] = [];
  const names = new Set([...Object.keys(before.devices), ...Object.keys(after.devices)]);
  for (const name of [...names].sort()) {
    const b = before.devices[name];
    const a = after.devices[name];
    if (b && !a) removed.push({ type: 'device', metadata: { action: 'removed', config: b, name } });
    else if (!b && a) added.push({ type: 'device', metadata: { action: 'added', config: a, name } });
    else if (a && b && !sameMap(a, b)) {
      if (opts.deviceUpdate === 'updated')
        updated.push({ type: 'device', metadata: { action: 'updated', config: a, name } });
      else {
        removed.push({ type: 'device', metadata: { action: 'removed', config: b, name } });
        added.push({ type: 'device', metadata: { action: 'added', config: a, name } });
      }
    }
  }
  // LXD sends removals in reverse order of addition; names sorted descending is the stable analogue.
  return [...out, ...removed.reverse(), ...updated, ...added];
}

function sameMap(a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>): boolean {
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  return ka.every((k) => a[k] === b[k]);
}
