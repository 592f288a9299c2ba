// bin/guestgate.js started by a Node older than 24 re-execs the checkout under the bundled Node 24:
// stop/reload signals sent to the wrapper (what systemd, npm or a shell sends to "the" pid) reach the
// gateway, and the wrapper ends with it: no orphaned gateway keeps the sockets.
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { afterAll, expect, it } from 'vitest';
import { BIN, layout, waitHealthy, type Layout } from '../helpers/service.ts';
import { waitFor } from '../helpers/wait.ts';

let l: Layout | undefined;
const pids: number[] = [];
afterAll(() => {
  for (const p of pids) {
    try {
      process.kill(p, 'SIGKILL');
    } catch {}
  }
  l?.cleanup();
});

function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) out.push(Number(d));
    } catch {}
  }
  return out;
}
const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

it('SIGTERM to the re-exec wrapper stops the gateway child and the wrapper', async () => {
  const old = spawnSync('/usr/bin/node', ['--version'], { encoding: 'utf8' }).stdout.trim();
  if (!(Number(old.replace(/^v/, '').split('.')[0]) < 24))
    throw new Error(`this test needs a Node older than 24 at /usr/bin/node to exercise the wrapper (found ${old})`);
  l = layout({ demo: 'name: demo\nidentity: {}\n' });
  const wrapper = spawn('/usr/bin/node', [BIN, 'serve', '--config', l.configFile], { stdio: 'ignore' });
  if (!wrapper.pid) throw new Error('the wrapper did not start');
  pids.push(wrapper.pid);
  const exited = new Promise<{ code: number | null; signal: string | null }>((res) =>
    wrapper.on('exit', (code, signal) => res({ code, signal })),
  );
  await waitHealthy(l.adminSock, 60_000);
  const kids = childrenOf(wrapper.pid);
  expect(kids).toHaveLength(1);
  const gateway = kids[0] as number;
  pids.push(gateway);
  // The Node 24 child is started with serve's heap flags at once (no second re-exec).
  expect(readFileSync(`/proc/${gateway}/cmdline`, 'utf8').split('\0')).toContain('--max-semi-space-size=8');
  wrapper.kill('SIGTERM');
  const r = await exited;
  // The gateway stops cleanly on SIGTERM (exit 0); the wrapper reports the same.
  expect(r).toEqual({ code: 0, signal: null });
  await waitFor(`the gateway child ${gateway} to be gone`, () => !alive(gateway));
});
