// Instance writes for the admin side (no HTTP here): validate with the inventory file schema, keep
// LXD's instance-id lifecycle, persist through the source (durable before it resolves), then apply
// to the inventory so guest and host events fire. Writes to one instance are serialised (read-modify-
// write is safe); writes to different instances run side by side (a file source group-commits them).
import { randomUUID } from 'node:crypto';
import { GuestgateError } from '../errors.ts';
import type { Inventory } from '../inventory/inventory.ts';
import { instanceKey, type Instance } from '../inventory/model.ts';
import { instanceFromDocument } from '../inventory/parse.ts';
import type { ReadyStore } from '../state/ready.ts';
import { withInstanceId } from '../cloudinit/instance-id.ts';
import { KeyedChains } from '../util/chain.ts';
import { instanceDocument } from './document.ts';

/** LXD config keys: dotted words; no spaces, no control characters. */
export const CONFIG_KEY = /^[A-Za-z0-9][A-Za-z0-9._:/-]{0,255}$/;
export const DEVICE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export interface InstancePatch {
  /** null removes the key. */
  readonly config?: Readonly<Record<string, string | null>>;
  /** null removes the device; a map replaces it. */
  readonly devices?: Readonly<Record<string, Readonly<Record<string, string>> | null>>;
}

export const BODY = 'request body';

export class InstanceService {
  readonly #inventory: Inventory;
  readonly #ready: ReadyStore;
  /** One chain of writes per instance key. */
  readonly #chains = new KeyedChains();

  constructor(inventory: Inventory, ready: ReadyStore) {
    this.#inventory = inventory;
    this.#ready = ready;
  }

  list(): Instance[] {
    return this.#inventory.list();
  }

  get(key: string): Instance {
    const i = this.#inventory.get(key);
    if (!i) throw new GuestgateError('E_NOT_FOUND', `instance "${key}" not found`, { instance: key });
    return i;
  }

  async create(doc: unknown): Promise<Instance> {
    const after = parseDocument(doc);
    return this.#serial(after.key, async () => {
      if (this.#inventory.get(after.key))
        throw new GuestgateError('E_CONFLICT', `instance "${after.key}" already exists`, { instance: after.key });
      return this.#write(undefined, after);
    });
  }

  /** Replace the whole instance; the document must name the same instance. */
  replace(key: string, doc: unknown): Promise<Instance> {
    return this.#serial(key, async () => {
      const before = this.get(key);
      const after = parseDocument(doc);
      if (after.key !== key)
        throw new GuestgateError(
          'E_BAD_REQUEST',
          `${BODY}: name/project name instance "${after.key}", not "${key}" (renames are not supported)`,
          { instance: key, key: 'name' },
        );
      return this.#write(before, after);
    });
  }

  patch(key: string, patch: InstancePatch): Promise<Instance> {
    return this.#serial(key, async () => {
      const before = this.get(key);
      const config: Record<string, string> = { ...before.config };
      for (const [k, v] of Object.entries(patch.config ?? {})) {
        checkName(k, CONFIG_KEY, 'config key', `config.${k}`);
        if (v === null) delete config[k];
        else config[k] = v;
      }
      const devices: Record<string, Readonly<Record<string, string>>> = { ...before.devices };
      for (const [n, d] of Object.entries(patch.devices ?? {})) {
        checkName(n, DEVICE_NAME, 'device name', `devices.${n}`);
        if (d === null) delete devices[n];
        else devices[n] = d;
      }
      const after = parseDocument({ ...instanceDocument(before), config, devices });
      return this.#write(before, after);
    });
  }

  setConfig(key: string, configKey: string, value: string): Promise<Instance> {
    return this.patch(key, { config: { [configKey]: value } });
  }

  async unsetConfig(key: string, configKey: string): Promise<Instance> {
    if (this.get(key).config[configKey] === undefined)
      throw new GuestgateError('E_NOT_FOUND', `instance "${key}" has no config key "${configKey}"`, {
        instance: key,
        key: configKey,
      });
    return this.patch(key, { config: { [configKey]: null } });
  }

  async removeDevice(key: string, device: string): Promise<Instance> {
    if (this.get(key).devices[device] === undefined)
      throw new GuestgateError('E_NOT_FOUND', `instance "${key}" has no device "${device}"`, { instance: key, device });
    return this.patch(key, { devices: { [device]: null } });
  }

  delete(key: string): Promise<void> {
    return this.#serial(key, async () => {
      const before = this.get(key);
      const remove = this.#inventory.source.remove;
      if (!remove) throw notWritable(this.#inventory.source.kind);
      await remove.call(this.#inventory.source, key);
      this.#inventory.apply({ kind: 'remove', before });
      await this.#ready.forget(key);
    });
  }

  async #write(before: Instance | undefined, next: Instance): Promise<Instance> {
    const put = this.#inventory.source.put;
    if (!put) throw notWritable(this.#inventory.source.kind);
    const after = withInstanceId(before, next, randomUUID);
    await put.call(this.#inventory.source, after);
    this.#inventory.apply({ kind: 'upsert', before, after });
    return after;
  }

  #serial<T>(key: string, fn: () => Promise<T>): Promise<T> {
    return this.#chains.run(key, fn);
  }
}

/** Validate a document with the inventory file schema; errors name `request body` and the key. */
export function parseDocument(doc: unknown): Instance {
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc))
    throw new GuestgateError('E_BAD_REQUEST', `${BODY}: expected a mapping (an instance)`, { key: '' });
  // What GET adds to the file shape; dropped so GET -> edit -> PUT round-trips.
  const { key: _key, state: _state, state_since: _since, ...rest } = doc as Record<string, unknown>;
  const i = instanceFromDocument(rest, BODY);
  for (const k of Object.keys(i.config)) checkName(k, CONFIG_KEY, 'config key', `config.${k}`);
  for (const n of Object.keys(i.devices)) checkName(n, DEVICE_NAME, 'device name', `devices.${n}`);
  return i;
}

function checkName(name: string, re: RegExp, what: string, key: string): void {
  if (!re.test(name))
    throw new GuestgateError('E_BAD_REQUEST', `${BODY}: ${key}: invalid ${what} ${JSON.stringify(name)}`, {
      key,
      problem: `invalid ${what}`,
    });
}

const notWritable = (kind: string): GuestgateError =>
  new GuestgateError(
    'E_METHOD_NOT_IMPLEMENTED',
    `the "${kind}" inventory source is read-only; change instances there`,
    { source: kind },
  );

export const keyOf = (name: string, project: string | undefined): string => instanceKey(project || 'default', name);
