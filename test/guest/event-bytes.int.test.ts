// Event queues are bounded in bytes: listeners that never read, and large config values changed
// quickly, keep the gateway's memory bounded; the slow listeners are dropped.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { DEMO, http, inProcess, json, layout, type Layout } from '../helpers/service.ts';
import type { Service } from '../../src/service.ts';
import { waitFor } from '../helpers/wait.ts';

const LISTENERS = 20;
const CHANGES = 40;
const VALUE = 512 * 1024;

let l: Layout;
let svc: Service;
const conns: Socket[] = [];
beforeAll(async () => {
  l = layout({ demo: DEMO });
  const cfg = readFileSync(l.configFile, 'utf8');
  writeFileSync(l.configFile, cfg.replace('guest:\n', 'guest:\n  events:\n    max_queue_bytes: 1MiB\n'));
  svc = await inProcess(l);
});
afterAll(async () => {
  for (const c of conns) c.destroy();
  await svc?.stop();
  l?.cleanup();
});

it('drops listeners that do not read before they hold more than max_queue_bytes each', async () => {
  // The gateway's side of each connection: what it buffers for a listener is its writableLength.
  const serverSide: Socket[] = [];
  svc.guest.server.on('connection', (s: Socket) => serverSide.push(s));
  for (let i = 0; i < LISTENERS; i++) {
    const c = connect(svc.guest.path, () => c.write('GET /1.0/events HTTP/1.1\r\nHost: lxd\r\n\r\n'));
    c.on('error', () => {});
    c.pause(); // never read
    conns.push(c);
  }
  await waitFor(`${LISTENERS} listeners`, () => svc.hub.listenerCount === LISTENERS);
  const before = process.memoryUsage().rss;
  let peak = before;
  let peakQueued = 0;
  const sample = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
    peakQueued = Math.max(
      peakQueued,
      serverSide.reduce((n, s) => n + s.writableLength, 0),
    );
  }, 5);
  try {
    for (let i = 0; i < CHANGES; i++) {
      const value = String.fromCharCode(97 + (i % 26)).repeat(VALUE);
      const r = await http(l.adminSock, 'PUT', '/1.0/instances/demo/config/user.big', ...json({ value }));
      expect(r.status).toBe(200);
    }
    await waitFor('every non-reading listener dropped', () => svc.hub.listenerCount === 0);
  } finally {
    clearInterval(sample);
  }
  const grewMb = (peak - before) / 2 ** 20;
  const queuedMb = peakQueued / 2 ** 20;
  console.log(
    `event-bytes: peak queued ${queuedMb.toFixed(1)} MiB for ${LISTENERS} listeners; RSS grew ${grewMb.toFixed(0)} MiB`,
  );
  // Unbounded, the listeners would hold up to LISTENERS x CHANGES x 512 KiB = 400 MiB; bounded, at most
  // 1 MiB + one event each.
  expect(serverSide).toHaveLength(LISTENERS);
  expect(queuedMb).toBeLessThanOrEqual(LISTENERS * 1.6);
});
