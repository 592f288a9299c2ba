// Read one labelled series of a prom-client counter (0 when it has no sample yet).
import type { Counter } from '../../src/metrics/registry.ts';

export async function counterValue(c: Counter, labels: Record<string, string>): Promise<number> {
  const m = await c.get();
  const hit = m.values.find((v) => Object.entries(labels).every(([k, x]) => String(v.labels[k]) === x));
  return hit?.value ?? 0;
}
