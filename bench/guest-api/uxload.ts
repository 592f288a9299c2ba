// uxload's one-line output (`requests=N errors=N rps=N p50_us=N p99_us=N max_us=N`) and medians of runs.

export interface Uxload {
  readonly requests: number;
  readonly errors: number;
  readonly rps: number;
  readonly p50_us: number;
  readonly p99_us: number;
  readonly max_us: number;
}

export function parseUxload(out: string): Uxload {
  const f: Record<string, number> = {};
  for (const m of out.matchAll(/(\w+)=([\d.]+)/g)) f[m[1]!] = Number(m[2]);
  for (const k of ['requests', 'errors', 'rps', 'p50_us', 'p99_us', 'max_us'])
    if (f[k] === undefined) throw new Error(`uxload output lacks ${k}: ${out.trim()}`);
  return f as unknown as Uxload;
}

/** Per-field medians; errors are summed and max is the worst of all rounds. */
export function medianOf(rs: readonly Uxload[]): Uxload {
  const med = (k: 'rps' | 'p50_us' | 'p99_us'): number =>
    rs.map((r) => r[k]).sort((a, b) => a - b)[Math.floor(rs.length / 2)]!;
  return {
    requests: rs.reduce((n, r) => n + r.requests, 0),
    errors: rs.reduce((n, r) => n + r.errors, 0),
    rps: med('rps'),
    p50_us: med('p50_us'),
    p99_us: med('p99_us'),
    max_us: Math.max(...rs.map((r) => r.max_us)),
  };
}
