// Wires one guestgate process from a validated config: inventory, readiness, events, the guest
// socket (and, where configured, images, admin and NoCloud). Start and stop in reverse order.
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Config } from './config/schema.ts';
import { Inventory } from './inventory/inventory.ts';
import { createSource } from './inventory/sources/index.ts';
import { ReadyStore } from './state/ready.ts';
import { createGuestApp } from './guest/app.ts';
import type { GuestDeps, GuestImages } from './guest/deps.ts';
import { dialectFor } from './guest/dialects.ts';
import { EventHub } from './guest/events/hub.ts';
import { startGuestServer, type GuestServer } from './guest/server.ts';

export interface Service {
  readonly config: Config;
  readonly inventory: Inventory;
  readonly ready: ReadyStore;
  readonly hub: EventHub;
  readonly guest: GuestServer;
  readonly deps: GuestDeps;
  reload(): Promise<void>;
  stop(): Promise<void>;
}

export interface ServiceExtras {
  images?: GuestImages;
}

export async function startService(config: Config, log: Logger, extras: ServiceExtras = {}): Promise<Service> {
  const dialect = dialectFor(config.guest.dialect, config.guest.raw_content_type);
  const inventory = new Inventory(createSource(config.inventory, log.child({ part: 'inventory' })), {
    log: log.child({ part: 'inventory' }),
    demoInstance: config.guest.demo_instance,
  });
  await inventory.start();
  const ready = new ReadyStore(join(config.state_dir, 'ready'));
  await ready.load();
  const hub = new EventHub(inventory, { deviceUpdate: dialect.deviceUpdate, log: log.child({ part: 'events' }) });
  const deps: GuestDeps = {
    inventory,
    dialect,
    ready,
    hub,
    images: extras.images,
    location: config.guest.location ?? hostname(),
    events: { keepaliveMs: config.guest.events.keepalive, maxQueue: config.guest.events.max_queue, stallMs: 5_000 },
    log: log.child({ part: 'guest' }),
  };
  const guest = await startGuestServer(createGuestApp(deps), deps, config.guest.socket);
  log.info({ socket: guest.path, dialect: dialect.name, instances: inventory.size, source: inventory.source.kind }, 'guest API listening');
  return {
    config,
    inventory,
    ready,
    hub,
    guest,
    deps,
    reload: () => inventory.reload(),
    stop: async () => {
      await guest.close();
      await inventory.stop();
    },
  };
}
