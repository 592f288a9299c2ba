// guestgate's metrics: one registry for the whole process, fed by the guest, admin and NoCloud
// surfaces and read from the running parts at scrape time. Built once in startService.
import type { Server } from 'node:net';
import type { Logger } from 'pino';
import { Registry, type GaugeSample } from './registry.ts';

/** The running parts read at scrape time (narrow views, so metrics/ depends on none of them). */
export interface ObservedParts {
  readonly inventory: { readonly size: number };
  readonly hub: { readonly listenerCount: number; readonly delivered: number };
  /** The image cache: each numeric field of stats() becomes guestgate_cache{field=...}. */
  readonly images: { stats(): object };
}

/** Records one guest request (the guest surface calls it per request). */
export interface RequestObserver {
  observe(endpoint: string, status: number, seconds: number, instance?: string): void;
}

export class Observability {
  readonly registry = new Registry();
  readonly guestRequests = this.registry.counter(
    'guestgate_guest_requests_total',
    'Guest API requests by endpoint and status.',
  );
  readonly guestLatency = this.registry.histogram(
    'guestgate_guest_request_duration_seconds',
    'Guest API request latency by endpoint.',
  );
  readonly adminRequests = this.registry.counter(
    'guestgate_admin_requests_total',
    'Admin API requests by route, method and status.',
  );
  readonly adminLatency = this.registry.histogram(
    'guestgate_admin_request_duration_seconds',
    'Admin API request latency by route.',
  );
  readonly nocloudRequests = this.registry.counter(
    'guestgate_nocloud_requests_total',
    'NoCloud HTTP requests by file and status.',
  );
  readonly nocloudLatency = this.registry.histogram(
    'guestgate_nocloud_request_duration_seconds',
    'NoCloud HTTP request latency by file.',
  );
  readonly connectionsRefused = this.registry.counter(
    'guestgate_connections_refused_total',
    'Connections closed at accept by a cap, by listener and reason (per-key, global).',
  );
  readonly connectionsTimedOut = this.registry.counter(
    'guestgate_connections_timed_out_total',
    'Connections closed by a deadline, by listener and phase (header, idle).',
  );
  #readyWaiters = 0;
  readonly #servers = new Map<string, Server>();

  constructor(parts: ObservedParts) {
    const r = this.registry;
    r.collect({
      name: 'guestgate_instances',
      help: 'Instances in the inventory.',
      type: 'gauge',
      collect: () => [{ value: parts.inventory.size }],
    });
    r.collect({
      name: 'guestgate_guest_event_listeners',
      help: 'Connected guest event listeners.',
      type: 'gauge',
      collect: () => [{ value: parts.hub.listenerCount }],
    });
    r.collect({
      name: 'guestgate_guest_events_delivered_total',
      help: 'Guest events written to listeners.',
      type: 'counter',
      collect: () => [{ value: parts.hub.delivered }],
    });
    r.collect({
      name: 'guestgate_ready_waiters',
      help: 'Pending readiness long-polls on the admin API.',
      type: 'gauge',
      collect: () => [{ value: this.#readyWaiters }],
    });
    r.collect({
      name: 'guestgate_connections',
      help: 'Open connections by listener.',
      type: 'gauge',
      collect: () => this.#connections(),
    });
    // Each numeric field of stats() becomes guestgate_cache{field="<name>"} (bytes, hits, misses,
    // fills, evictions, upstreamErrors, ... whatever the image service reports).
    r.collect({
      name: 'guestgate_cache',
      help: 'Image cache statistics (field label).',
      type: 'gauge',
      collect: () => cacheSamples(parts.images.stats()),
    });
  }

  /** Readiness long-polls in progress. */
  get readyWaiters(): number {
    return this.#readyWaiters;
  }

  /** A readiness long-poll starts; call the returned function when it ends. */
  readyWaiter(): () => void {
    this.#readyWaiters++;
    let done = false;
    return () => {
      if (!done) this.#readyWaiters--;
      done = true;
    };
  }

  /** Count this listener's open connections under guestgate_connections{listener}. */
  watchServer(listener: string, server: Server): void {
    this.#servers.set(listener, server);
  }

  guestObserver(log: Logger, logAll: boolean): RequestObserver {
    // Per-request cost is two map lookups: series are resolved once per (endpoint, status).
    const series = new Map<string, { inc: () => void; observe: (v: number) => void }>();
    const debug = log.isLevelEnabled('debug');
    return {
      observe: (endpoint, status, seconds, instance?: string) => {
        const key = `${endpoint} ${status}`;
        let s = series.get(key);
        if (!s) {
          s = {
            inc: this.guestRequests.child({ endpoint, status: String(status) }),
            observe: this.guestLatency.child({ endpoint }),
          };
          series.set(key, s);
        }
        s.inc();
        s.observe(seconds);
        if (logAll || debug) {
          const line = { instance, endpoint, status, ms: Math.round(seconds * 1e4) / 10 };
          if (logAll) log.info(line, 'guest request');
          else log.debug(line, 'guest request');
        }
      },
    };
  }

  async #connections(): Promise<GaugeSample[]> {
    const out: GaugeSample[] = [];
    for (const [listener, s] of this.#servers) {
      const n = await new Promise<number>((res) => s.getConnections((e, c) => res(e ? 0 : c)));
      out.push({ labels: { listener }, value: n });
    }
    return out;
  }
}

function cacheSamples(stats: object): GaugeSample[] {
  const out: GaugeSample[] = [];
  const walk = (o: object, prefix: string): void => {
    for (const [k, v] of Object.entries(o) as [string, unknown][]) {
      const field = prefix ? `${prefix}_${k}` : k;
      if (typeof v === 'number') out.push({ labels: { field }, value: v });
      else if (v && typeof v === 'object' && !Array.isArray(v)) walk(v, field);
    }
  };
  walk(stats, '');
  return out;
}
