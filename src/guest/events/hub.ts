// Fan-out of guest events: inventory changes become events (diff.ts), encoded once into one buffer,
// then that buffer is sent to each listener of that instance whose `type` filter matches, in order.
import type { Logger } from 'pino';
import type { Inventory } from '../../inventory/inventory.ts';
import type { InventoryChange } from '../../inventory/model.ts';
import { instanceEvents } from './diff.ts';
import { encodeEvent, rfc3339Nano, type GuestEvent } from './encode.ts';

export interface EventListener {
  readonly types: ReadonlySet<string>;
  /** One encoded event line; the same buffer goes to every listener (never modify it). */
  send(data: Buffer): void;
  /** The instance is gone: end the listener. */
  close(reason: string): void;
}

export class EventHub {
  readonly #listeners = new Map<string, Set<EventListener>>();
  readonly #deviceUpdate: 'updated' | 'remove-add';
  readonly #log: Logger;
  #delivered = 0;

  constructor(inventory: Inventory, opts: { deviceUpdate: 'updated' | 'remove-add'; log: Logger }) {
    this.#deviceUpdate = opts.deviceUpdate;
    this.#log = opts.log;
    inventory.on('change', (c) => this.#onChange(c));
  }

  add(instanceKey: string, listener: EventListener): () => void {
    let set = this.#listeners.get(instanceKey);
    if (!set) {
      set = new Set();
      this.#listeners.set(instanceKey, set);
    }
    set.add(listener);
    return () => {
      set.delete(listener);
      if (set.size === 0 && this.#listeners.get(instanceKey) === set) this.#listeners.delete(instanceKey);
    };
  }

  /** Number of connected listeners (metrics). */
  get listenerCount(): number {
    let n = 0;
    for (const s of this.#listeners.values()) n += s.size;
    return n;
  }

  get delivered(): number {
    return this.#delivered;
  }

  publish(instanceKey: string, events: readonly GuestEvent[]): void {
    const set = this.#listeners.get(instanceKey);
    if (!set || events.length === 0) return;
    for (const e of events) {
      const data = Buffer.from(encodeEvent(e, rfc3339Nano()));
      for (const l of set) {
        if (!l.types.has(e.type)) continue;
        l.send(data);
        this.#delivered++;
      }
    }
  }

  #onChange(c: InventoryChange): void {
    if (c.kind === 'remove') {
      for (const l of this.#listeners.get(c.before.key) ?? []) l.close('instance removed');
      this.#listeners.delete(c.before.key);
      return;
    }
    if (!c.before) return;
    const events = instanceEvents(c.before, c.after, { deviceUpdate: this.#deviceUpdate });
    if (events.length) this.#log.debug({ instance: c.after.key, events: events.length }, 'guest events');
    this.publish(c.after.key, events);
  }
}
