// The host-side event stream: inventory and readiness changes as lifecycle events for operators
// (instance-created, instance-updated with the config/device changes, instance-deleted,
// instance-ready, instance-started). Pure event building + a tiny fan-out; no HTTP here.
import { EventEmitter } from 'node:events';
import type { Inventory } from '../inventory/inventory.ts';
import type { Instance, InventoryChange } from '../inventory/model.ts';
import type { ReadyRecord, ReadyStore } from '../state/ready.ts';

export interface HostEvent {
  readonly type: 'lifecycle';
  readonly action: 'instance-created' | 'instance-updated' | 'instance-deleted' | 'instance-ready' | 'instance-started';
  readonly timestamp: string;
  readonly instance: string;
  readonly project: string;
  readonly name: string;
  readonly metadata: Record<string, unknown>;
}

export interface ConfigChange {
  readonly key: string;
  readonly old_value: string;
  readonly value: string;
}

export interface DeviceChange {
  readonly name: string;
  readonly action: 'added' | 'removed' | 'updated';
  readonly config: Readonly<Record<string, string>>;
}

/** Every config key (not only user.*) and device that differs. Pure. */
export function instanceChanges(
  before: Instance,
  after: Instance,
): { config: ConfigChange[]; devices: DeviceChange[] } {
  const config: ConfigChange[] = [];
  for (const key of [...new Set([...Object.keys(before.config), ...Object.keys(after.config)])].sort()) {
    const old_value = before.config[key] ?? '';
    const value = after.config[key] ?? '';
    if (old_value !== value) config.push({ key, old_value, value });
  }
  const devices: DeviceChange[] = [];
  for (const name of [...new Set([...Object.keys(before.devices), ...Object.keys(after.devices)])].sort()) {
    const b = before.devices[name];
    const a = after.devices[name];
    if (b && !a) devices.push({ name, action: 'removed', config: b });
    else if (a && !b) devices.push({ name, action: 'added', config: a });
    else if (a && b && JSON.stringify(a) !== JSON.stringify(b)) devices.push({ name, action: 'updated', config: a });
  }
  return { config, devices };
}

export function eventForChange(c: InventoryChange, now: string): HostEvent | undefined {
  if (c.kind === 'remove') return make('instance-deleted', c.before, now, {});
  if (!c.before) return make('instance-created', c.after, now, {});
  const changes = instanceChanges(c.before, c.after);
  const identity = JSON.stringify(c.before.identity) !== JSON.stringify(c.after.identity);
  if (!changes.config.length && !changes.devices.length && !identity) return undefined;
  return make('instance-updated', c.after, now, { ...changes, identity_changed: identity });
}

export function eventForReady(i: Instance, r: ReadyRecord): HostEvent {
  return make(r.state === 'Ready' ? 'instance-ready' : 'instance-started', i, r.since, { state: r.state });
}

function make(
  action: HostEvent['action'],
  i: Instance,
  timestamp: string,
  metadata: Record<string, unknown>,
): HostEvent {
  return { type: 'lifecycle', action, timestamp, instance: i.key, project: i.project, name: i.name, metadata };
}

export class HostEvents extends EventEmitter<{ event: [HostEvent] }> {
  readonly #detach: () => void;

  constructor(inventory: Inventory, ready: ReadyStore) {
    super();
    this.setMaxListeners(0);
    const onChange = (c: InventoryChange): void => {
      const e = eventForChange(c, new Date().toISOString());
      if (e) this.emit('event', e);
    };
    const onReady = (key: string, r: ReadyRecord): void => {
      const i = inventory.get(key);
      if (i) this.emit('event', eventForReady(i, r));
    };
    inventory.on('change', onChange);
    ready.on('change', onReady);
    this.#detach = () => {
      inventory.off('change', onChange);
      ready.off('change', onReady);
    };
  }

  close(): void {
    this.#detach();
    this.removeAllListeners();
  }
}
