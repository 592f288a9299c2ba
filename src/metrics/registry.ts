// The Prometheus client: prom-client (types, exposition format, default process_* / nodejs_* metrics).
// This file is the one place that knows it; the rest of guestgate sees these names.
import client from 'prom-client';

export type Counter = client.Counter<string>;
export type Histogram = client.Histogram<string>;
export const Registry = client.Registry;
export type Registry = client.Registry;

export const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export const PROMETHEUS_CONTENT_TYPE = client.Registry.PROMETHEUS_CONTENT_TYPE;

export function counter(r: Registry, name: string, help: string, labelNames: readonly string[]): Counter {
  return new client.Counter({ name, help, labelNames, registers: [r] });
}

export function histogram(r: Registry, name: string, help: string, labelNames: readonly string[]): Histogram {
  return new client.Histogram({ name, help, labelNames, buckets: LATENCY_BUCKETS, registers: [r] });
}

/**
 * Counters and histograms on a hot path (one guest request each): prom-client hashes the label values on
 * every inc() and observe(), which profiled at ~6% of a busy gateway's CPU. Here a series is resolved once
 * and then updated with plain arithmetic; the registry reads the families at scrape time, in prom-client's
 * own exposition (HELP, TYPE, cumulative buckets with `le`, _sum, _count).
 */
export interface FastCounter {
  series(labels: Record<string, string>): { inc(): void };
  get(): Promise<{ values: { labels: Record<string, string | number>; value: number }[] }>;
}
export interface FastHistogram {
  series(labels: Record<string, string>): { observe(seconds: number): void };
}

type Sample = { value: number; labels: Record<string, string | number>; metricName?: string };

function register(r: Registry, name: string, help: string, type: 'counter' | 'histogram', values: () => Sample[]) {
  const get = async () => ({ name, help, type, aggregator: 'sum' as const, values: values() });
  r.registerMetric({ name, help, type, aggregator: 'sum', get, reset() {}, collect() {} } as never);
  return get;
}

/** The series of `labels` in `all`, made on first use. */
function entry<T>(all: Map<string, T>, labels: Record<string, string>, make: () => T): T {
  const key = JSON.stringify(labels);
  const found = all.get(key);
  if (found) return found;
  const made = make();
  all.set(key, made);
  return made;
}

export function fastCounter(r: Registry, name: string, help: string): FastCounter {
  const all = new Map<string, { labels: Record<string, string>; value: number }>();
  const get = register(r, name, help, 'counter', () => [...all.values()].map((s) => ({ ...s })));
  return {
    series(labels) {
      const c = entry(all, labels, () => ({ labels: { ...labels }, value: 0 }));
      return { inc: () => void c.value++ };
    },
    get,
  };
}

export function fastHistogram(r: Registry, name: string, help: string): FastHistogram {
  const all = new Map<string, { labels: Record<string, string>; counts: Float64Array; sum: number; n: number }>();
  register(r, name, help, 'histogram', () => {
    const out: Sample[] = [];
    for (const s of all.values()) {
      let acc = 0;
      LATENCY_BUCKETS.forEach((le, i) => {
        acc += s.counts[i]!;
        out.push({ metricName: `${name}_bucket`, labels: { ...s.labels, le }, value: acc });
      });
      out.push({ metricName: `${name}_bucket`, labels: { ...s.labels, le: '+Inf' }, value: s.n });
      out.push({ metricName: `${name}_sum`, labels: { ...s.labels }, value: s.sum });
      out.push({ metricName: `${name}_count`, labels: { ...s.labels }, value: s.n });
    }
    return out;
  });
  return {
    series(labels) {
      const h = entry(all, labels, () => ({
        labels: { ...labels },
        counts: new Float64Array(LATENCY_BUCKETS.length),
        sum: 0,
        n: 0,
      }));
      return {
        observe(v) {
          let i = 0;
          while (i < LATENCY_BUCKETS.length && v > LATENCY_BUCKETS[i]!) i++;
          if (i < LATENCY_BUCKETS.length) h.counts[i]!++;
          h.sum += v;
          h.n++;
        },
      };
    },
  };
}

/** A gauge read at scrape time (sampled by `read`, which may be async). */
export function sampledGauge(
  r: Registry,
  name: string,
  help: string,
  read: () =>
    | number
    | { labels: Record<string, string>; value: number }[]
    | Promise<{ labels: Record<string, string>; value: number }[]>,
  labelNames: readonly string[] = [],
): void {
  new client.Gauge({
    name,
    help,
    labelNames,
    registers: [r],
    async collect() {
      const v = await read();
      if (typeof v === 'number') this.set(v);
      else {
        this.reset();
        for (const s of v) this.set(s.labels, s.value);
      }
    },
  });
}

/** A counter whose running total is kept elsewhere (read at scrape time; never goes down). */
export function sampledCounter(r: Registry, name: string, help: string, read: () => number): void {
  new client.Counter({
    name,
    help,
    registers: [r],
    collect() {
      this.reset();
      this.inc(read());
    },
  });
}

export function defaultMetrics(r: Registry): void {
  client.collectDefaultMetrics({ register: r });
}
