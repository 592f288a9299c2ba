// The fast counter and histogram of the guest request path expose exactly what prom-client's own would for
// the same events (differential: same registry format, label order aside), bucket edges included.
import { expect, it } from 'vitest';
import {
  counter,
  fastCounter,
  fastHistogram,
  histogram,
  LATENCY_BUCKETS,
  Registry,
} from '../../src/metrics/registry.ts';

/** Exposition lines with each line's labels sorted (their order carries no meaning). */
const normalised = (text: string): string[] =>
  text
    .split('\n')
    .filter(Boolean)
    .map((l) => l.replace(/\{([^}]*)\}/, (_, ls: string) => `{${ls.split(',').sort().join(',')}}`))
    .sort();

it('same exposition as prom-client for the same observations', async () => {
  const ref = new Registry();
  const fast = new Registry();
  const rc = counter(ref, 'x_requests_total', 'Requests.', ['endpoint', 'status']);
  const rh = histogram(ref, 'x_duration_seconds', 'Latency.', ['endpoint']);
  const fc = fastCounter(fast, 'x_requests_total', 'Requests.');
  const fh = fastHistogram(fast, 'x_duration_seconds', 'Latency.');
  // Every bucket edge exactly, just above it, 0, and far past the last one.
  const values = [0, ...LATENCY_BUCKETS, ...LATENCY_BUCKETS.map((b) => b * 1.0001), 42, 0.0003];
  for (const [i, v] of values.entries()) {
    const endpoint = i % 3 === 0 ? 'configKey' : 'metaData';
    const status = i % 5 === 0 ? '404' : '200';
    rc.labels(endpoint, status).inc();
    fc.series({ endpoint, status }).inc();
    rh.labels(endpoint).observe(v);
    fh.series({ endpoint }).observe(v);
  }
  const a = normalised(await ref.metrics());
  const b = normalised(await fast.metrics());
  expect(b).toEqual(a);
  expect(b.some((l) => l.includes('le="+Inf"'))).toBe(true);
  const notFound = (await fc.get()).values.filter((v) => v.labels.status === '404');
  expect(notFound.reduce((n, v) => n + v.value, 0)).toBe(values.filter((_, i) => i % 5 === 0).length);
});
