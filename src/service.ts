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
import type { GuestDeps } from './guest/deps.ts';
import { dialectFor } from './guest/dialects.ts';
import { EventHub } from './guest/events/hub.ts';
import { startGuestServer, type GuestServer } from './guest/server.ts';
import { adminSocketPath } from './config/sections/admin.ts';
import { createAdminApp } from './admin/app.ts';
import { HostEvents } from './admin/host-events.ts';
import { InstanceService } from './admin/instances.ts';
import { Observability } from './metrics/observability.ts';
import { startAdminServer, type AdminServer } from './admin/server.ts';
import { startNoCloudServer, type NoCloudServer } from './nocloud/server.ts';
import { createImageService, type ImageService } from './images/index.ts';

export interface Service {
  readonly config: Config;
  readonly inventory: Inventory;
  readonly ready: ReadyStore;
  readonly hub: EventHub;
  readonly guest: GuestServer;
  readonly deps: GuestDeps;
  readonly obs: Observability;
  readonly admin: AdminServer | undefined;
  readonly nocloud: NoCloudServer | undefined;
  reload(): Promise<void>;
  stop(): Promise<void>;
}

export interface ServiceExtras {
  /** Replace the configured image cache (tests). */
  images?: ImageService;
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
  ready.on('change', (key, r) => void inventory.source.recordReady?.(key, r.state));
  const ownImages: ImageService | undefined = extras.images
    ? undefined
    : await createImageService(config.images, { stateDir: config.state_dir, log: log.child({ part: 'images' }) });
  const images: ImageService = extras.images ?? ownImages!;
  const hub = new EventHub(inventory, { deviceUpdate: dialect.deviceUpdate, log: log.child({ part: 'events' }) });
  const deps: GuestDeps = {
    inventory,
    dialect,
    ready,
    hub,
    images,
    location: config.guest.location ?? hostname(),
    events: { keepaliveMs: config.guest.events.keepalive, maxQueue: config.guest.events.max_queue, stallMs: 5_000 },
    log: log.child({ part: 'guest' }),
  };
  const obs = new Observability({ inventory, hub, images });
  const guestMetrics = obs.guestObserver(log.child({ part: 'guest' }), config.log.requests === 'all');
  const guest = await startGuestServer(createGuestApp(deps, guestMetrics), deps, config.guest.socket);
  obs.watchServer('guest', guest.server);
  log.info(
    { socket: guest.path, dialect: dialect.name, instances: inventory.size, source: inventory.source.kind },
    'guest API listening',
  );
  const hostEvents = new HostEvents(inventory, ready);
  let admin: AdminServer | undefined;
  if (config.admin.enabled) {
    const adminApp = createAdminApp({
      inventory,
      ready,
      instances: new InstanceService(inventory, ready),
      events: hostEvents,
      obs,
      images,
      maxBody: config.admin.max_body,
      maxWaitMs: config.admin.max_wait * 1000,
      log: log.child({ part: 'admin' }),
    });
    admin = await startAdminServer(adminApp, config.admin, adminSocketPath(config.runtime_dir, config.admin));
    obs.watchServer('admin', admin.server);
    if (admin.https) obs.watchServer('admin-https', admin.https);
    log.info({ socket: admin.path, https: admin.httpsAddress }, 'admin API listening');
  }
  let nocloud: NoCloudServer | undefined;
  if (config.nocloud.listen) {
    nocloud = await startNoCloudServer(
      { ...config.nocloud, listen: config.nocloud.listen },
      inventory,
      log.child({ part: 'nocloud' }),
      {
        requests: obs.nocloudRequests,
        latency: obs.nocloudLatency,
      },
      images,
    );
    obs.watchServer('nocloud', nocloud.server);
    log.info({ address: nocloud.address, identify_by: config.nocloud.identify_by }, 'NoCloud seed listening');
  }
  return {
    config,
    inventory,
    ready,
    hub,
    guest,
    deps,
    obs,
    admin,
    nocloud,
    reload: () => inventory.reload(),
    stop: async () => {
      await Promise.all([admin?.close(), nocloud?.close()]);
      hostEvents.close();
      await guest.close();
      await ownImages?.close();
      await inventory.stop();
    },
  };
}
