// Wires one guestgate process from a validated config: inventory, readiness, events, the guest
// socket (and, where configured, images, admin and NoCloud). Start and stop in reverse order.
import type { Server } from 'node:http';
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
import { EventBudget } from './guest/events/budget.ts';
import { startGuestServer, type GuestServer } from './guest/server.ts';
import { adminSocketPath } from './config/sections/admin.ts';
import { createAdminApp } from './admin/app.ts';
import { TemplateSets } from './templates/for-instance.ts';
import { configuredTemplateSet } from './templates/load-dir.ts';
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
import { compactHeap } from './util/heap.ts';
import { GuestgateError, isGuestgateError } from './errors.ts';
import { checkInheritedUsed, type Inherited, type ListenerName, takeInherited } from './net/inherited.ts';
import { spawnSuccessor, type Successor } from './net/handover.ts';
import { type Graceful, graceful } from './net/graceful.ts';

export interface Service {
  readonly config: Config;
  readonly inventory: Inventory;
  readonly ready: ReadyStore;
  readonly hub: EventHub;
  readonly guest: GuestServer;
  readonly deps: GuestDeps;
  readonly obs: Observability;
  readonly admin: AdminServer | undefined;
  /** The image cache (benchmarks empty it between cold rounds). */
  readonly images: ImageService;
  readonly nocloud: NoCloudServer | undefined;
  /** Listening sockets this process was handed (systemd socket activation or a restart), if any. */
  readonly inherited: Inherited | undefined;
  reload(): Promise<void>;
  /** Start the successor on our listening sockets; resolves once it serves on all of them (restart.ts). */
  handOver(timeoutMs?: number): Promise<Successor>;
  /**
   * Stop accepting on every listener, let image exports in flight finish, close. After a handOver, the
   * socket files stay (the successor serves them).
   */
  stop(opts?: { handover?: boolean }): Promise<void>;
}

export interface ServiceExtras {
  /** Replace the configured image cache (tests). */
  images?: ImageService;
  /** The admin API's POST /1.0/restart (serve.ts: hand over, then drain and exit). */
  restart?: () => Promise<{ old_pid: number; new_pid: number }>;
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
  const inherited = takeInherited();
  const configured = new Set<ListenerName>(['guest']);
  if (config.admin.enabled) configured.add('admin');
  if (config.admin.enabled && config.admin.https) configured.add('admin-https');
  if (config.nocloud.listen) configured.add('nocloud');
  checkInheritedUsed(inherited, configured);
  const fd = (name: ListenerName): number | undefined => inherited?.fds.get(name);
  if (inherited)
    log.info(
      { from: inherited.from, parent: inherited.parent, sockets: [...inherited.fds.keys()] },
      'inherited sockets',
    );
  const inventory = new Inventory(createSource(config.inventory, log.child({ part: 'inventory' })), {
    log: log.child({ part: 'inventory' }),
    demoInstance: config.guest.demo_instance,
    pinsFile: join(config.state_dir, 'identity', 'init-pins.json'),
  });
  opened.push(() => inventory.stop());
  await inventory.start();
  compactHeap(); // the start-up parse grew the young generation; nothing is served yet
  const ready = new ReadyStore(join(config.state_dir, 'ready'));
  await ready.load();
  ready.on('change', (key, r) => void inventory.source.recordReady?.(key, r.state));
  inventory.on('change', (c: LoggedChange) => logInstanceChange(log.child({ part: 'inventory' }), c));
  const ownImages: ImageService | undefined = extras.images
    ? undefined
    : await createImageService(config.images, {
        stateDir: config.state_dir,
        log: log.child({ part: 'images' }),
        // A restart's successor takes the cache once the predecessor has drained and released it.
        ...(inherited?.parent
          ? { after: { pid: inherited.parent, waitMs: config.images.drain_timeout + 60_000 } }
          : {}),
      });
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
      budget: new EventBudget(config.guest.events.max_total_bytes),
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
  const guestApp = createGuestApp(deps, guestMetrics);
  const guest = await startGuestServer(guestApp, deps, config.guest.socket, limits, fd('guest')).catch((e) =>
    Promise.reject(listenError('guest.socket', config.guest.socket, e)),
  );
  opened.push(() => guest.close());
  const listeners: Graceful[] = [graceful(guest.server)];
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
      dialect: config.guest.dialect,
      templates: new TemplateSets(images, configuredTemplateSet(config.nocloud.templates_dir)),
      maxBody: config.admin.max_body,
      maxWaitMs: config.admin.max_wait,
      noReadiness:
        dialect.readyState || config.guest.record_ready
          ? undefined
          : `the ${dialect.name} dialect has no readiness: LXD 5.0.2 ignores PATCH /1.0, so no guest reports Ready; set guest.record_ready: true to record it anyway (guests still get LXD 5.0.2's answers)`,
      log: log.child({ part: 'admin' }),
      restart: extras.restart,
    });
    const adminSock = adminSocketPath(config.runtime_dir, config.admin);
    const fds = { unix: fd('admin'), https: fd('admin-https') };
    const started: AdminServer = await startAdminServer(adminApp, config.admin, adminSock, limits, fds).catch((e) =>
      Promise.reject(
        (e as { port?: number }).port !== undefined && config.admin.https
          ? listenError('admin.https.listen', config.admin.https.listen, e)
          : listenError('admin.socket', adminSock, e),
      ),
    );
    admin = started;
    opened.push(() => started.close());
    obs.watchServer('admin', admin.server);
    listeners.push(graceful(admin.server));
    if (admin.https) obs.watchServer('admin-https', admin.https);
    if (admin.https) listeners.push(graceful(admin.https));
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
      fd('nocloud'),
    ).catch((e) => Promise.reject(isGuestgateError(e) ? e : listenError('nocloud.listen', config.nocloud.listen!, e)));
    nocloud = started;
    obs.watchServer('nocloud', nocloud.server);
    listeners.push(graceful(nocloud.server));
    log.info({ address: nocloud.address, identify_by: config.nocloud.identify_by }, 'NoCloud seed listening');
  }
  return {
    images,
    config,
    inventory,
    ready,
    hub,
    guest,
    deps,
    obs,
    admin,
    nocloud,
    inherited,
    reload: () => inventory.reload(),
    handOver: (timeoutMs = 60_000) => {
      const listening: [ListenerName, Server | undefined][] = [
        ['guest', guest.server],
        ['nocloud', nocloud?.server],
        ['admin', admin?.server],
        ['admin-https', admin?.https],
      ];
      const given = listening.filter((x): x is [ListenerName, Server] => x[1]?.listening === true);
      if (given.length !== listening.filter((x) => x[1]).length)
        return Promise.reject(new GuestgateError('E_CONFLICT', 'not every listener is listening (stopping?)', {}));
      return spawnSuccessor(given, { timeoutMs });
    },
    stop: async (opts = {}) => {
      // Stop accepting on every listener first, then let image exports in flight finish
      // (images.drain_timeout); connections already open are served meanwhile.
      // A connection accepted just before is still answered: wait until no caller waits for an answer
      // (at most its header deadline), so that the close below cuts only event streams.
      for (const l of listeners) l.stopAccepting();
      await Promise.all([
        images.drain(config.images.drain_timeout),
        ...listeners.map((l) => l.settled(config.limits.header_timeout + 1000)),
      ]);
      const keepSocket = opts.handover === true;
      await Promise.all([admin?.close({ keepSocket }), nocloud?.close()]);
      hostEvents.close();
      await guest.close({ keepSocket });
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
