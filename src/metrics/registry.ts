// A small Prometheus registry (text exposition format 0.0.4): counters and histograms with labels,
// plus gauges read at scrape time. Enough for guestgate; no dependency.

type Labels = Readonly<Record<string, string>>;

const escapeLabel = (v: string): string => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
const labelText = (l: Labels): string => {
  const parts = Object.keys(l)
    .sort()
    .map((k) => `${k}="${escapeLabel(l[k]!)}"`);
  return parts.length ? `{${parts.join(',')}}` : '';
};
const fmt = (n: number): string => (Number.isFinite(n) ? String(n) : n > 0 ? '+Inf' : n < 0 ? '-Inf' : 'NaN');

export class Counter {
  readonly #values = new Map<string, number>();
  readonly name: string;
  readonly help: string;
  constructor(name: string, help: string) {
    this.name = name;
    this.help = help;
  }
  inc(labels: Labels = {}, by = 1): void {
    const k = labelText(labels);
    this.#values.set(k, (this.#values.get(k) ?? 0) + by);
  }
  /** A pre-labelled incrementer for hot paths (no label formatting per call). */
  child(labels: Labels): (by?: number) => void {
    const k = labelText(labels);
    return (by = 1) => void this.#values.set(k, (this.#values.get(k) ?? 0) + by);
  }
  get(labels: Labels = {}): number {
    return this.#values.get(labelText(labels)) ?? 0;
  }
  render(): string {
    let s = `# HELP ${this.name} ${this.help}\n# TYPE ${this.name} counter\n`;
    for (const [k, v] of this.#values) s += `${this.name}${k} ${fmt(v)}\n`;
    return s;
  }
}

export const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export class Histogram {
  readonly #series = new Map<string, { labels: Labels; counts: number[]; sum: number; count: number }>();
  readonly name: string;
  readonly help: string;
  readonly buckets: readonly number[];
  constructor(name: string, help: string, buckets: readonly number[] = LATENCY_BUCKETS) {
    this.name = name;
    this.help = help;
    this.buckets = buckets;
  }
  observe(labels: Labels, v: number): void {
    this.child(labels)(v);
  }
  /** A pre-labelled observer for hot paths (no label formatting per call). */
  child(labels: Labels): (v: number) => void {
    const k = labelText(labels);
    let s = this.#series.get(k);
    if (!s) {
      s = { labels, counts: this.buckets.map(() => 0), sum: 0, count: 0 };
      this.#series.set(k, s);
    }
    const series = s;
    return (v) => {
      for (let i = 0; i < this.buckets.length; i++) if (v <= this.buckets[i]!) series.counts[i]!++;
      series.sum += v;
      series.count++;
    };
  }
  render(): string {
    let s = `# HELP ${this.name} ${this.help}\n# TYPE ${this.name} histogram\n`;
    for (const { labels, counts, sum, count } of this.#series.values()) {
      this.buckets.forEach((b, i) => {
        s += `${this.name}_bucket${labelText({ ...labels, le: fmt(b) })} ${counts[i]}\n`;
      });
      s += `${this.name}_bucket${labelText({ ...labels, le: '+Inf' })} ${count}\n`;
      s += `${this.name}_sum${labelText(labels)} ${fmt(sum)}\n${this.name}_count${labelText(labels)} ${count}\n`;
    }
    return s;
  }
}

export interface GaugeSample {
  readonly labels?: Labels;
  readonly value: number;
}

/** A gauge (or counter owned elsewhere) read at scrape time. */
export interface Collected {
  readonly name: string;
  readonly help: string;
  readonly type: 'gauge' | 'counter';
  collect(): GaugeSample[] | Promise<GaugeSample[]>;
}

export class Registry {
  readonly #metrics: (Counter | Histogram)[] = [];
  readonly #collected: Collected[] = [];

  counter(name: string, help: string): Counter {
    const c = new Counter(name, help);
    this.#metrics.push(c);
    return c;
  }
  histogram(name: string, help: string, buckets?: readonly number[]): Histogram {
    const h = new Histogram(name, help, buckets);
    this.#metrics.push(h);
    return h;
  }
  collect(c: Collected): void {
    this.#collected.push(c);
  }

  async render(): Promise<string> {
    let s = '';
    for (const m of this.#metrics) s += m.render();
    for (const c of this.#collected) {
      let samples: GaugeSample[];
      try {
        samples = await c.collect();
      } catch {
        continue;
      }
      if (!samples.length) continue;
      s += `# HELP ${c.name} ${c.help}\n# TYPE ${c.name} ${c.type}\n`;
      for (const x of samples) s += `${c.name}${labelText(x.labels ?? {})} ${fmt(x.value)}\n`;
    }
    return s;
  }
}

export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';
