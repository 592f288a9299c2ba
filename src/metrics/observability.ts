// guestgate's metrics: one registry for the whole process, fed by the guest, admin and NoCloud
// surfaces and read from the running parts at scrape time. Built once in startService.
import type { Server } from 'node:net';
import type { Logger } from 'pino';
import { VERSION } from '../util/version.ts';
import {
  counter,
  defaultMetrics,
  fastCounter,
  fastHistogram,
  histogram,
  Registry,
  sampledCounter,
  sampledGauge,
  type Counter,
  type FastCounter,
  type FastHistogram,
  type Histogram,
} from './registry.ts';

/** The image cache's running totals, as the image service reports them. */
export interface CacheStats {
  readonly bytes: number;
  readonly images: number;
  readonly hits: number;
  readonly misses: number;
  readonly fills: number;
  readonly fillFailures: number;
  readonly evictions: number;
  readonly upstreamErrors: number;
}

/** The running parts read at scrape time (narrow views, so metrics/ depends on none of them). */
export interface ObservedParts {
  readonly inventory: { readonly size: number };
  readonly hub: { readonly listenerCount: number; readonly delivered: number };
  readonly images: { stats(): CacheStats };
  /** Inventory files currently refused (parse errors, unsafe files, duplicates). */
  readonly rejectedFiles?: () => number;
  /** 1 while the inventory source is degraded (server unreachable, cluster member in error), else 0. */
  readonly sourceDegraded?: () => number;
}

/** Records one guest request (the guest surface calls it per request). */
export interface RequestObserver {
  observe(endpoint: string, status: number, seconds: number, instance?: string): void;
}

export class Observability {
  readonly registry = new Registry();
  readonly guestRequests: FastCounter;
  readonly guestLatency: FastHistogram;
  readonly adminRequests: Counter;
  readonly adminLatency: Histogram;
  readonly nocloudRequests: Counter;
  readonly nocloudLatency: Histogram;
  readonly connectionsRefused: Counter;
  readonly connectionsTimedOut: Counter;
  #readyWaiters = 0;
  readonly #servers = new Map<string, Server>();

  constructor(parts: ObservedParts) {
    const r = this.registry;
    defaultMetrics(r);
    this.guestRequests = fastCounter(r, 'guestgate_guest_requests_total', 'Guest API requests by endpoint and status.');
    this.guestLatency = fastHistogram(r, 'guestgate_guest_request_duration_seconds', 'Guest API request latency.');
    this.adminRequests = counter(r, 'guestgate_admin_requests_total', 'Admin API requests by route, method, status.', [
      'route',
      'method',
      'status',
    ]);
    this.adminLatency = histogram(r, 'guestgate_admin_request_duration_seconds', 'Admin API request latency.', [
      'route',
    ]);
    this.nocloudRequests = counter(r, 'guestgate_nocloud_requests_total', 'NoCloud HTTP requests by file, status.', [
      'file',
      'status',
    ]);
    this.nocloudLatency = histogram(r, 'guestgate_nocloud_request_duration_seconds', 'NoCloud request latency.', [
      'file',
    ]);
    this.connectionsRefused = counter(
      r,
      'guestgate_connections_refused_total',
      'Connections closed at accept by a cap, by listener and reason (per-key, global).',
      ['listener', 'reason'],
    );
    this.connectionsTimedOut = counter(
      r,
      'guestgate_connections_timed_out_total',
      'Connections closed by a deadline, by listener and phase (header, idle).',
      ['listener', 'phase'],
    );
    sampledGauge(
      r,
      'guestgate_build_info',
      'Always 1; the labels say which guestgate and Node.js run.',
      () => [{ labels: { version: VERSION, nodejs: process.version }, value: 1 }],
      ['version', 'nodejs'],
    );
    sampledGauge(r, 'guestgate_instances', 'Instances in the inventory.', () => parts.inventory.size);
    sampledGauge(
      r,
      'guestgate_inventory_rejected_files',
      'Inventory files refused right now (see the log for why).',
      () => parts.rejectedFiles?.() ?? 0,
    );
    sampledGauge(
      r,
      'guestgate_inventory_source_degraded',
      '1 while the inventory source serves from last known state (server unreachable, cluster member in error).',
      () => parts.sourceDegraded?.() ?? 0,
    );
    sampledGauge(
      r,
      'guestgate_guest_event_listeners',
      'Connected guest event listeners.',
      () => parts.hub.listenerCount,
    );
    sampledCounter(
      r,
      'guestgate_guest_events_delivered_total',
      'Guest events written to listeners.',
      () => parts.hub.delivered,
    );
    sampledGauge(
      r,
      'guestgate_ready_waiters',
      'Pending readiness long-polls on the admin API.',
      () => this.#readyWaiters,
    );
    sampledGauge(r, 'guestgate_connections', 'Open connections by listener.', () => this.#connections(), ['listener']);
    const cache = () => parts.images.stats();
    sampledGauge(r, 'guestgate_cache_bytes', 'Bytes of cached images.', () => cache().bytes);
    sampledGauge(r, 'guestgate_cache_images', 'Cached images.', () => cache().images);
    sampledCounter(r, 'guestgate_cache_hits_total', 'Image exports served from the cache.', () => cache().hits);
    sampledCounter(r, 'guestgate_cache_misses_total', 'Image exports not in the cache.', () => cache().misses);
    sampledCounter(r, 'guestgate_cache_fills_total', 'Verified fills from upstreams.', () => cache().fills);
    sampledCounter(r, 'guestgate_cache_fill_failures_total', 'Fills that failed.', () => cache().fillFailures);
    sampledCounter(r, 'guestgate_cache_evictions_total', 'Images evicted (LRU by bytes).', () => cache().evictions);
    sampledCounter(
      r,
      'guestgate_cache_upstream_errors_total',
      'Errors from image upstreams.',
      () => cache().upstreamErrors,
    );
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
    // Per-request cost is two lookups, no string built: series are resolved once per (endpoint, status).
    type Series = { requests: { inc(): void }; latency: { observe(v: number): void } };
    const series = new Map<string, Series[]>();
    const debug = log.isLevelEnabled('debug');
    return {
      observe: (endpoint, status, seconds, instance?: string) => {
        let byStatus = series.get(endpoint);
        if (!byStatus) {
          byStatus = [];
          series.set(endpoint, byStatus);
        }
        let s = byStatus[status];
        if (!s) {
          s = {
            requests: this.guestRequests.series({ endpoint, status: String(status) }),
            latency: this.guestLatency.series({ endpoint }),
          };
          byStatus[status] = s;
        }
        s.requests.inc();
        s.latency.observe(seconds);
        if (logAll || debug) {
          const line = { instance, endpoint, status, ms: Math.round(seconds * 1e4) / 10 };
          if (logAll) log.info(line, 'guest request');
          else log.debug(line, 'guest request');
        }
      },
    };
  }

  async #connections(): Promise<{ labels: Record<string, string>; value: number }[]> {
    const out: { labels: Record<string, string>; value: number }[] = [];
    for (const [listener, s] of this.#servers) {
      const n = await new Promise<number>((res) => s.getConnections((e, c) => res(e ? 0 : c)));
      out.push({ labels: { listener }, value: n });
    }
    return out;
  }
}
