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
import { logInstanceChange, type LoggedChange } from './inventory/change-log.ts';
import { startAdminServer, type AdminServer } from './admin/server.ts';
import { startNoCloudServer, type NoCloudServer } from './nocloud/server.ts';
import { createImageService, type ImageService } from './images/index.ts';
import { listenerLimits } from './net/listener-limits.ts';
import { raiseFdLimit } from './identity/limits.ts';
import { TokenBuckets } from './net/token-bucket.ts';
import { listenError } from './net/listen-error.ts';
import { isGuestgateError } from './errors.ts';

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

/**
 * Start everything, or nothing: when a listener or watcher fails to start, what was already opened
 * is closed (newest first) before the error, which names the config key, is thrown.
 */
export async function startService(config: Config, log: Logger, extras: ServiceExtras = {}): Promise<Service> {
  const opened: (() => Promise<unknown> | unknown)[] = [];
  try {
    return await startParts(config, log, extras, opened);
  } catch (e) {
    for (const close of opened.reverse()) await Promise.resolve(close()).catch(() => {});
    throw e;
  }
}

async function startParts(
  config: Config,
  log: Logger,
  extras: ServiceExtras,
  opened: (() => Promise<unknown> | unknown)[],
): Promise<Service> {
  const dialect = dialectFor(config.guest.dialect, config.guest.raw_content_type);
  const inventory = new Inventory(createSource(config.inventory, log.child({ part: 'inventory' })), {
    log: log.child({ part: 'inventory' }),
    demoInstance: config.guest.demo_instance,
    pinsFile: join(config.state_dir, 'identity', 'init-pins.json'),
  });
  opened.push(() => inventory.stop());
  await inventory.start();
  const ready = new ReadyStore(join(config.state_dir, 'ready'));
  await ready.load();
  ready.on('change', (key, r) => void inventory.source.recordReady?.(key, r.state));
  inventory.on('change', (c: LoggedChange) => logInstanceChange(log.child({ part: 'inventory' }), c));
  const ownImages: ImageService | undefined = extras.images
    ? undefined
    : await createImageService(config.images, { stateDir: config.state_dir, log: log.child({ part: 'images' }) });
  const images: ImageService = extras.images ?? ownImages!;
  opened.push(() => ownImages?.close());
  const hub = new EventHub(inventory, { deviceUpdate: dialect.deviceUpdate, log: log.child({ part: 'events' }) });
  const deps: GuestDeps = {
    inventory,
    dialect,
    ready,
    hub,
    images,
    location: config.guest.location ?? hostname(),
    recordReadyQuietly: !dialect.readyState && config.guest.record_ready,
    events: {
      keepaliveMs: config.guest.events.keepalive,
      maxQueue: config.guest.events.max_queue,
      maxBytes: config.guest.events.max_queue_bytes,
      stallMs: 5_000,
    },
    log: log.child({ part: 'guest' }),
    rateLimit: rateLimiter(config.limits),
  };
  const obs = new Observability({
    inventory,
    hub,
    images,
    rejectedFiles: () => inventory.source.rejected?.size ?? 0,
    sourceDegraded: () => (inventory.source.unreachable || inventory.source.degraded?.length ? 1 : 0),
  });
  const guestMetrics = obs.guestObserver(log.child({ part: 'guest' }), config.log.requests === 'all');
  const limits = listenerLimits(config.limits, raiseFdLimit(), obs, log.child({ part: 'limits' }));
  const guest = await startGuestServer(createGuestApp(deps, guestMetrics), deps, config.guest.socket, limits).catch(
    (e) => Promise.reject(listenError('guest.socket', config.guest.socket, e)),
  );
  opened.push(() => guest.close());
  obs.watchServer('guest', guest.server);
  log.info(
    { socket: guest.path, dialect: dialect.name, instances: inventory.size, source: inventory.source.kind },
    'guest API listening',
  );
  const hostEvents = new HostEvents(inventory, ready);
  opened.push(() => hostEvents.close());
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
      maxWaitMs: config.admin.max_wait,
      noReadiness:
        dialect.readyState || config.guest.record_ready
          ? undefined
          : `the ${dialect.name} dialect has no readiness: LXD 5.0.2 ignores PATCH /1.0, so no guest reports Ready; set guest.record_ready: true to record it anyway (guests still get LXD 5.0.2's answers)`,
      log: log.child({ part: 'admin' }),
    });
    const adminSock = adminSocketPath(config.runtime_dir, config.admin);
    const started: AdminServer = await startAdminServer(adminApp, config.admin, adminSock, limits).catch((e) =>
      Promise.reject(
        (e as { port?: number }).port !== undefined && config.admin.https
          ? listenError('admin.https.listen', config.admin.https.listen, e)
          : listenError('admin.socket', adminSock, e),
      ),
    );
    admin = started;
    opened.push(() => started.close());
    obs.watchServer('admin', admin.server);
    if (admin.https) obs.watchServer('admin-https', admin.https);
    log.info({ socket: admin.path, https: admin.httpsAddress }, 'admin API listening');
  }
  let nocloud: NoCloudServer | undefined;
  if (config.nocloud.listen) {
    const started: NoCloudServer = await startNoCloudServer(
      { ...config.nocloud, listen: config.nocloud.listen },
      inventory,
      log.child({ part: 'nocloud' }),
      {
        requests: obs.nocloudRequests,
        latency: obs.nocloudLatency,
      },
      limits,
      images,
    ).catch((e) => Promise.reject(isGuestgateError(e) ? e : listenError('nocloud.listen', config.nocloud.listen!, e)));
    nocloud = started;
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
      // Stop accepting guests first, then let image exports in flight finish (images.drain_timeout).
      guest.server.close();
      guest.server.closeIdleConnections();
      await images.drain(config.images.drain_timeout);
      await Promise.all([admin?.close(), nocloud?.close()]);
      hostEvents.close();
      await guest.close();
      await ownImages?.close();
      await inventory.stop();
    },
  };
}

/** limits.rate per instance (off at 0). */
function rateLimiter(cfg: Config['limits']): ((instance: string) => number) | undefined {
  if (cfg.rate <= 0) return undefined;
  const buckets = new TokenBuckets(cfg.rate, cfg.burst);
  return (instance) => buckets.take(instance, performance.now());
}
