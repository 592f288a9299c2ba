// Node's per-server deadlines from the limits: each listener keeps its whole-request deadline (30 s on
// the guest and NoCloud listeners, none on the admin API for image uploads), raised to the header
// timeout only when that is longer (Node refuses headersTimeout > requestTimeout and failed startup).
import { createServer } from 'node:http';
import { expect, it } from 'vitest';
import { ConnCounter } from '../../src/net/conn-limits.ts';
import { serverTimeouts, type ListenerLimits } from '../../src/net/conn-guard.ts';

const limits = (headerTimeoutMs: number): ListenerLimits => ({
  counter: new ConnCounter({ global: 100, reserve: 10 }),
  headerTimeoutMs,
  idleTimeoutMs: 30_000,
  perInstance: 64,
  perUnknown: 8,
});

it('keeps the listener deadline, 0 (none) included, and raises it only to a longer header timeout', () => {
  expect(serverTimeouts(limits(10_000), 30_000)).toMatchObject({ headersTimeout: 10_000, requestTimeout: 30_000 });
  expect(serverTimeouts(limits(600_000), 30_000)).toMatchObject({ headersTimeout: 600_000, requestTimeout: 600_000 });
  expect(serverTimeouts(limits(600_000), 0)).toMatchObject({ headersTimeout: 600_000, requestTimeout: 0 });
  expect(serverTimeouts(undefined, 0)).toMatchObject({ requestTimeout: 0 });
});

it('every combination is one Node accepts', () => {
  for (const h of [1_000, 10_000, 600_000])
    for (const r of [0, 30_000])
      expect(() => createServer(serverTimeouts(limits(h), r)).close(), `header ${h} request ${r}`).not.toThrow();
});
