// Read one labelled series of a counter (prom-client's or a fast one; 0 when it has no sample yet).
import type { Counter, FastCounter } from '../../src/metrics/registry.ts';

export async function counterValue(c: Counter | FastCounter, labels: Record<string, string>): Promise<number> {
  const m = await c.get();
  const hit = m.values.find((v) => Object.entries(labels).every(([k, x]) => String(v.labels[k]) === x));
  return hit?.value ?? 0;
}
