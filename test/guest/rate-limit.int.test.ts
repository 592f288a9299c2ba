// limits.rate: over its bucket an instance gets 429 with Retry-After, in the dialect's error shape
// (Go's http.Error text on devlxd endpoints, the main-API envelope on image export).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO, http, inProcess, layout, type Layout } from '../helpers/service.ts';
import type { Service } from '../../src/service.ts';
import { counterValue } from '../helpers/metrics.ts';

let l: Layout;
let svc: Service;
beforeAll(async () => {
  l = layout({ demo: DEMO }, 'limits:\n  rate: 1\n  burst: 3\n');
  svc = await inProcess(l);
});
afterAll(async () => {
  await svc?.stop();
  l?.cleanup();
});

describe('per-instance request rate', () => {
  it('answers 429 with Retry-After once the burst is spent', async () => {
    const statuses: number[] = [];
    let limited: Awaited<ReturnType<typeof http>> | undefined;
    // The first 3 come out of the full bucket; it refills at 1/s, so quick requests soon meet a 429.
    for (let i = 0; i < 50 && !limited; i++) {
      const r = await http(svc.guest.path, 'GET', '/1.0/config/user.role');
      statuses.push(r.status);
      if (r.status === 429) limited = r;
    }
    expect(statuses.slice(0, 3)).toEqual([200, 200, 200]);
    expect(limited).toBeDefined();
    expect(limited!.text).toBe('Too Many Requests\n');
    expect(limited!.headers['content-type']).toBe('text/plain; charset=utf-8');
    expect(Number(limited!.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(await counterValue(svc.obs.guestRequests, { endpoint: 'configKey', status: '429' })).toBeGreaterThanOrEqual(
      1,
    );
  });

  it('uses the main-API envelope on image export', async () => {
    let r = await http(svc.guest.path, 'GET', `/1.0/images/${'a'.repeat(64)}/export`);
    for (let i = 0; i < 10 && r.status !== 429; i++)
      r = await http(svc.guest.path, 'GET', `/1.0/images/${'a'.repeat(64)}/export`);
    expect(r.status).toBe(429);
    expect(r.json()).toEqual({
      type: 'error',
      status: '',
      status_code: 0,
      operation: '',
      error_code: 429,
      error: 'Too Many Requests',
      metadata: null,
    });
    expect(r.headers['retry-after']).toBeDefined();
  });
});
