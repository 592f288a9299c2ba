// Socket activation: started by systemd-socket-activate (same protocol as a .socket unit:
// LISTEN_FDS, LISTEN_FDNAMES, LISTEN_PID, fds from 3), guestgate serves on the inherited sockets: the
// guest socket alone (fd 3), or every listener by name (guest, nocloud, admin).
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { request } from 'node:http';
import { createServer } from 'node:net';
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
    // systemd-socket-activate has no SocketMode=: its socket is not connectable by other uids (guests).
    await waitFor('a warning about the socket mode', () => /inherited guest socket: mode 06[04]4 lets only/.test(err));
    expect(err).toContain('give it SocketMode=0666');
  } finally {
    act.kill('SIGTERM');
  }
});

it('serves every listener on inherited sockets named by LISTEN_FDNAMES (guest, nocloud, admin)', async () => {
  requireRoot('calling the guest API as the demo instance root');
  expect(
    existsSync('/usr/bin/systemd-socket-activate'),
    'systemd-socket-activate is needed (apt-get install systemd)',
  ).toBe(true);
  const port = await new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
  l = layout({ demo: 'name: demo\nconfig:\n  user.x: "1"\nidentity: {}\n' }, `nocloud:\n  listen: 127.0.0.1:${port}\n`);
  mkdirSync(dirname(l.guestSock), { recursive: true });
  const act = spawn(
    '/usr/bin/systemd-socket-activate',
    [
      '-l',
      l.guestSock,
      '-l',
      `127.0.0.1:${port}`,
      '-l',
      l.adminSock,
      '--fdname=guest:nocloud:admin',
      process.execPath,
      BIN,
      'serve',
      '--config',
      l.configFile,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  children.push(act);
  let err = '';
  act.stderr.on('data', (c: Buffer) => (err += c));
  try {
    await waitFor(`systemd-socket-activate to listen on ${l.adminSock}`, () => existsSync(l!.adminSock));
    // The first connection starts guestgate (on the admin socket here); guestgate binds nothing itself.
    await waitHealthy(l.adminSock);
    const r = await http(l.guestSock, 'GET', '/1.0/config');
    expect(r.status, err).toBe(200);
    const status = await new Promise<number>((resolve, reject) =>
      request({ host: '127.0.0.1', port, path: '/meta-data' }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      })
        .on('error', reject)
        .end(),
    );
    expect(status, err).toBe(403); // served by guestgate: the host's address is no instance's
    expect(err).not.toMatch(/EADDRINUSE|in use/);
  } finally {
    act.kill('SIGTERM');
  }
});
