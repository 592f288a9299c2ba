// The listener storm of bench/abuse, as a test: 64 listeners of one instance that never read, with the
// default bound (8 MiB each), while a 512 KiB user.* value changes 40 times (~1 MiB per event: old and
// new value). One event is one buffer shared by every listener it goes to (not a copy per listener),
// so what the gateway holds is about the events not yet written by the slowest listener, not 64 times
// that. Measured as the process's off-heap memory (arrayBuffers + external, sampled), against the same
// 40 changes with no listener (the admin writes' own garbage), and as the distinct bytes queued.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { connect, type Socket } from 'node:net';
import { DEMO, http, inProcess, json, layout, type Layout } from '../helpers/service.ts';
import type { Service } from '../../src/service.ts';
import { waitFor } from '../helpers/wait.ts';

const LISTENERS = 64;
const CHANGES = 40;
const VALUE = 512 * 1024;
const MiB = 2 ** 20;

let l: Layout;
let svc: Service;
const conns: Socket[] = [];
beforeAll(async () => {
  l = layout({ demo: DEMO });
  svc = await inProcess(l);
});
afterAll(async () => {
  for (const c of conns) c.destroy();
  await svc?.stop();
  l?.cleanup();
});

const offHeap = (): number => {
  const m = process.memoryUsage();
  return m.arrayBuffers + m.external;
};

/** The 40 changes; returns the peak off-heap growth and the peak distinct bytes queued for listeners. */
async function storm(round: number): Promise<{ grewMb: number; queuedMb: number }> {
  const budget = svc.deps.events.budget!;
  const before = offHeap();
  let peak = before;
  let queued = 0;
  const sample = (): void => {
    peak = Math.max(peak, offHeap());
    queued = Math.max(queued, budget.bytes);
  };
  const timer = setInterval(sample, 2);
  try {
    for (let i = 0; i < CHANGES; i++) {
      const value = String.fromCharCode(97 + ((i + round) % 26)).repeat(VALUE);
      const r = await http(l.adminSock, 'PUT', '/1.0/instances/demo/config/user.big', ...json({ value }));
      expect(r.status).toBe(200);
      sample();
    }
  } finally {
    clearInterval(timer);
  }
  return { grewMb: (peak - before) / MiB, queuedMb: queued / MiB };
}

it('64 non-reading listeners share each event: memory grows by about one queue bound, not 64 of them', async () => {
  const alone = await storm(0);
  for (let i = 0; i < LISTENERS; i++) {
    const c = connect(svc.guest.path, () => c.write('GET /1.0/events HTTP/1.1\r\nHost: lxd\r\n\r\n'));
    c.on('error', () => {});
    c.pause(); // never read
    conns.push(c);
  }
  await waitFor(`${LISTENERS} listeners`, () => svc.hub.listenerCount === LISTENERS);
  const stormed = await storm(1);
  const extra = stormed.grewMb - alone.grewMb;
  console.log(
    `event-memory: off-heap peak +${alone.grewMb.toFixed(0)} MiB without listeners, +${stormed.grewMb.toFixed(0)} MiB with ${LISTENERS} (${extra.toFixed(0)} MiB more); distinct bytes queued at most ${stormed.queuedMb.toFixed(1)} MiB`,
  );
  // One listener's bound (8 MiB) plus the event that passes it: shared by all 64.
  expect(stormed.queuedMb).toBeLessThanOrEqual(9.1);
  // A copy per listener made this 80+ MiB.
  expect(extra).toBeLessThan(40);
});
