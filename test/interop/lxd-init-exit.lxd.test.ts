// The LXD inventory source holds each running container's init (pid from /state) by a pidfd: when the
// init dies, the instance stops being identified by its pid namespace at once, even while LXD's
// lifecycle events cannot arrive (the event stream is cut here, as in a gap before an event).
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readCallerFacts } from '../../src/identity/facts.ts';
import { Inventory } from '../../src/inventory/inventory.ts';
import { LxdSource } from '../../src/inventory/sources/lxd.ts';
import { existingContainer, launchContainer } from './lxd-harness.ts';
import { LXD_SOCKET, requireLxd } from './lxd-gateway.ts';

const NAME = 'ggi-exit';
const log = pino({ level: process.env.GG_LOG ?? 'silent' });
let dir = '';
let server: Server | undefined;
const conns = new Set<Socket>();
let inv: Inventory | undefined;

const until = async (pred: () => boolean, what: string, ms = 20_000): Promise<void> => {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
};

beforeAll(async () => {
  await requireLxd();
  dir = mkdtempSync(join(tmpdir(), 'ggi-exit-'));
  // A proxy in front of LXD's socket, so the event stream can be cut.
  server = createServer((c) => {
    const up = createConnection(LXD_SOCKET);
    conns.add(c).add(up);
    c.pipe(up).pipe(c);
    const drop = () => {
      c.destroy();
      up.destroy();
    };
    c.on('error', drop).on('close', drop);
    up.on('error', drop).on('close', drop);
  });
  await new Promise<void>((r) => server!.listen(join(dir, 'lxd.socket'), r));
});

afterAll(async () => {
  await inv?.stop();
  // LXD may still be running the stop that the killed init caused: retry until the delete goes through.
  for (let i = 0; ; i++) {
    try {
      await existingContainer(NAME).delete();
      break;
    } catch (e) {
      if (i >= 60) throw e;
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
  for (const c of conns) c.destroy();
  server?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('LXD source: init exit', () => {
  it("unindexes a container whose init died before LXD's lifecycle event can arrive", async () => {
    const c = await launchContainer(NAME, { replace: true });
    const pid = await c.initPid();
    inv = new Inventory(
      new LxdSource({
        kind: 'lxd',
        endpoint: { socket: join(dir, 'lxd.socket') },
        project: 'default',
        allProjects: false,
        log,
        backoff: { minMs: 60_000, maxMs: 60_000 },
      }),
      { log },
    );
    await inv.start();
    const facts = readCallerFacts({ pid, uid: 0, gid: 0 })!;
    const pidnsOnly = { ...facts, cgroups: [] };
    expect(inv.resolve(pidnsOnly)?.instance.key).toBe(NAME);
    expect(inv.heldFds).toBeGreaterThanOrEqual(2);
    // No more events: cut every connection to LXD (reconnect backoff 60 s), then kill the init.
    server!.close();
    for (const s of conns) s.destroy();
    process.kill(pid, 'SIGKILL');
    await until(() => inv!.resolve(pidnsOnly) === undefined, 'unindexed by pid namespace');
    expect(inv.get(NAME)?.identity.initPid).toBe(pid); // the source has not said anything yet
  }, 300_000);
});
