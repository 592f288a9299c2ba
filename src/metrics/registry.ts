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
