// A burst of guests connecting at once: 1,200 connects issued while the server cannot accept (one
// synchronous loop on its own event loop) all land in the kernel's queue, none fails with EAGAIN (with
// Node's default backlog of 511, the 512th did). Needs net.core.somaxconn >= 1200 (the kernel clamps).
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { listenUnix } from '../../src/net/unix-listen.ts';
import { waitFor } from '../helpers/wait.ts';

let dir: string;
let server: net.Server;
const clients: net.Socket[] = [];
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gg-backlog-'));
});
afterEach(async () => {
  for (const c of clients.splice(0)) c.destroy();
  await new Promise((r) => server.close(r));
  await rm(dir, { recursive: true, force: true });
});

it('1,200 connects in one burst are all queued and accepted', async () => {
  const somaxconn = Number(readFileSync('/proc/sys/net/core/somaxconn', 'utf8'));
  expect(somaxconn, 'net.core.somaxconn (the kernel clamps the backlog to it)').toBeGreaterThanOrEqual(1200);
  let accepted = 0;
  server = net.createServer((s) => {
    accepted++;
    s.on('error', () => {});
  });
  const sock = join(dir, 'g.sock');
  await listenUnix(server, sock);
  const errors: string[] = [];
  for (let i = 0; i < 1200; i++) {
    const c = net.connect(sock);
    c.on('error', (e: NodeJS.ErrnoException) => errors.push(e.code ?? e.message));
    clients.push(c);
  }
  await waitFor('every connect accepted or failed', () => accepted + errors.length === 1200);
  expect(errors).toEqual([]);
  expect(accepted).toBe(1200);
});
