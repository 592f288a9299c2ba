// Socket activation: started by systemd-socket-activate (same protocol as a .socket unit:
// LISTEN_FDS=1, LISTEN_PID, fd 3), guestgate serves the guest API on the inherited socket.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { BIN, http, layout, waitHealthy, type Layout } from '../helpers/service.ts';
import { requireRoot } from '../helpers/requirements.ts';
import { waitFor } from '../helpers/wait.ts';

let l: Layout | undefined;
const children: ChildProcess[] = [];
// Also on a test timeout (a finally block would not run then).
afterAll(() => {
  for (const c of children) c.kill('SIGTERM');
  l?.cleanup();
});

it('serves the guest API on an inherited fd 3 (LISTEN_FDS)', async () => {
  requireRoot('calling the guest API as the demo instance root');
  expect(
    existsSync('/usr/bin/systemd-socket-activate'),
    'systemd-socket-activate is needed (apt-get install systemd)',
  ).toBe(true);
  l = layout({ demo: 'name: demo\nconfig:\n  user.x: "1"\nidentity: {}\n' });
  mkdirSync(dirname(l.guestSock), { recursive: true });
  const act = spawn(
    '/usr/bin/systemd-socket-activate',
    ['-l', l.guestSock, process.execPath, BIN, 'serve', '--config', l.configFile],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  children.push(act);
  let err = '';
  act.stderr.on('data', (c: Buffer) => (err += c));
  try {
    await waitFor(`systemd-socket-activate to listen on ${l.guestSock}`, () => existsSync(l!.guestSock));
    // The first connection starts guestgate; it is queued meanwhile and answered on fd 3.
    const r = await http(l.guestSock, 'GET', '/1.0/config');
    expect(r.status, err).toBe(200);
    expect(r.text).toBe('["/1.0/config/user.x"]\n');
    await waitHealthy(l.adminSock);
  } finally {
    act.kill('SIGTERM');
  }
});
