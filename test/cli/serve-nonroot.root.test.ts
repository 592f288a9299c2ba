// `guestgate serve` as a user other than root warns (at warn, before serving) that callers in other user
// namespaces cannot be identified; as root it does not. Needs root to start the gateway as uid 65534.
import { spawn } from 'node:child_process';
import { chownSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { BIN, layout, waitHealthy, type Layout } from '../helpers/service.ts';

const layouts: Layout[] = [];
afterAll(() => {
  for (const l of layouts) l.cleanup();
});

const WARNING = 'not running as root: callers in other user namespaces cannot be identified';

/** Runs `serve` as `uid` until its admin socket answers, then stops it; resolves with its log. */
async function serveLog(uid: number): Promise<string> {
  const l = layout({ demo: 'name: demo\nidentity: {root_uid: 0}\n' }, '');
  layouts.push(l);
  const chownTree = (p: string): void => {
    chownSync(p, uid, uid);
    for (const e of readdirSync(p, { withFileTypes: true }))
      if (e.isDirectory()) chownTree(join(p, e.name));
      else chownSync(join(p, e.name), uid, uid);
  };
  chownTree(l.dir);
  const p = spawn(process.execPath, [BIN, 'serve', '-c', l.configFile], {
    uid,
    gid: uid,
    env: { ...process.env, HOME: l.dir },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  p.stdout.on('data', (c: Buffer) => (log += c.toString('utf8')));
  p.stderr.on('data', (c: Buffer) => (log += c.toString('utf8')));
  const closed = new Promise<void>((r) => p.on('close', () => r()));
  try {
    await Promise.race([
      waitHealthy(l.adminSock, 60_000),
      closed.then(() => {
        throw new Error(`serve as uid ${uid} exited before it served; log: ${log}`);
      }),
    ]);
  } finally {
    p.kill('SIGTERM');
    await closed;
  }
  return log;
}

it('warns when not root, and not as root', async () => {
  expect(process.getuid?.(), 'this test starts the gateway as uid 65534: it must run as root').toBe(0);
  const [nobody, root] = await Promise.all([serveLog(65534), serveLog(0)]);
  expect(nobody).toContain(WARNING);
  expect(nobody).toMatch(/"level":40/);
  expect(root).not.toContain(WARNING);
});
