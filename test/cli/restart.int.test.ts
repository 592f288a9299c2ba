// Zero-downtime restart (issue 10): SIGUSR2, or `guestgate restart` through the admin API, starts a new
// process on the same listening sockets (guest socket, admin socket, NoCloud TCP); the old one stops
// accepting, drains the export in flight and exits 0; the new one takes the cache's lock once the old
// released it. Meanwhile clients opening a new connection for every request see no connection error.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { unifiedImage, type MadeImage } from '../../fixtures/images/make.ts';
import { cli, DEMO, http, layout, spawnGateway, waitHealthy, type Layout } from '../helpers/service.ts';
import { hammer, slowPull, type HammerCounts } from '../helpers/hammer.ts';
import { waitFor } from '../helpers/wait.ts';

let l: Layout | undefined;
const pids: number[] = [];
afterEach(async () => {
  for (const pid of pids.splice(0)) {
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      continue;
    }
    await waitFor(`pid ${pid} to exit`, () => !existsSync(`/proc/${pid}`), { ms: 60_000 });
  }
  l?.cleanup();
  l = undefined;
});

const freePort = (): Promise<number> =>
  new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });

const lockHolder = (l: Layout): number | undefined => {
  try {
    return (JSON.parse(readFileSync(join(l.dir, 'cache', 'lock'), 'utf8')) as { pid: number }).pid;
  } catch {
    return undefined;
  }
};

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

async function setup(): Promise<{ l: Layout; img: MadeImage; port: number }> {
  const port = await freePort();
  l = layout(
    { demo: DEMO.replace('config:\n', 'config:\n  security.devlxd.images: "true"\n') },
    `images:\n  cache_dir: ./cache\nnocloud:\n  listen: 127.0.0.1:${port}\n`,
  );
  const img = await unifiedImage(12 * 1024 * 1024, 'none');
  const file = join(l.dir, 'img.tar');
  writeFileSync(file, img.files[0]!);
  const imported = await cli(['images', 'import', file, '--config', l.configFile]); // offline: no gateway yet
  expect(imported.code, imported.stderr).toBe(0);
  return { l, img, port };
}

/** Restart while a slow pull is in flight and every listener is hammered; returns the new pid. */
async function restartUnderLoad(how: (oldPid: number) => Promise<void>): Promise<void> {
  const { l, img, port } = await setup();
  const gw = spawnGateway(l.configFile);
  pids.push(gw.pid!);
  let stderr = '';
  gw.stderr?.on('data', (c: Buffer) => (stderr += c));
  await waitHealthy(l.adminSock);
  const exited = new Promise<number | null>((r) => gw.once('exit', (code) => r(code)));
  const h = hammer({
    guest: { socketPath: l.guestSock, path: '/1.0' },
    admin: { socketPath: l.adminSock, path: '/healthz' },
    nocloud: { host: '127.0.0.1', port, path: '/meta-data' },
  });
  await waitFor('the hammer to get answers on every listener', () =>
    Object.values(h.counts).every((c) => c.answered > 0),
  );
  let restarted: Promise<void> | undefined;
  const path = `/1.0/images/${img.fingerprint}/export`;
  const pulled = await slowPull(l.guestSock, path, () => (restarted = how(gw.pid!)));
  expect(pulled.status).toBe(200);
  expect(pulled.complete, `the export was cut after ${pulled.body.length} bytes`).toBe(true);
  expect(sha(pulled.body)).toBe(img.fingerprint);
  await restarted;
  expect(await exited, stderr).toBe(0);
  // The successor takes the cache's lock only now that the old process released it, then serves exports.
  await waitFor('the new process to take the cache lock', () => (lockHolder(l) ?? gw.pid) !== gw.pid, {
    ms: 60_000,
  });
  const next = lockHolder(l)!;
  pids.push(next);
  const atExit = Object.fromEntries(Object.entries(h.counts).map(([k, c]) => [k, c.answered]));
  await waitFor('the new process to answer on every listener', () =>
    Object.entries(h.counts).every(([k, c]) => c.answered > atExit[k]! + 20),
  );
  const again = await http(l.guestSock, 'GET', path);
  expect(again.status).toBe(200);
  const counts: Record<string, HammerCounts> = await h.stop();
  for (const [name, c] of Object.entries(counts))
    expect(c.errors, `${name}: ${c.answered} answered; connection errors: ${JSON.stringify(c.errors)}`).toEqual({});
  expect(existsSync(l.guestSock) && existsSync(l.adminSock)).toBe(true);
}

it('SIGUSR2 hands every listener to a new process: no connection refused, the pull in flight completes', async () => {
  await restartUnderLoad(async (pid) => void process.kill(pid, 'SIGUSR2'));
}, 180_000);

it('`guestgate restart --wait` does the same through the admin API and waits for the old process to exit', async () => {
  await restartUnderLoad(async (pid) => {
    const r = await cli(['restart', '--wait', '2m', '--config', l!.configFile]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^restarted: pid ${pid} -> pid \\d+\\npid ${pid} drained and exited\\n$`));
  });
}, 180_000);
