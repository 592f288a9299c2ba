// `guestgate serve` under Type=notify: READY=1 reaches $NOTIFY_SOCKET once the listeners are up
// (through systemd-notify). The datagram socket is held by python3, as Node has none.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { BIN, layout, waitHealthy, type Layout } from '../helpers/service.ts';
import { waitFor } from '../helpers/wait.ts';

let l: Layout | undefined;
const children: ChildProcess[] = [];
// Also on a test timeout (a finally block would not run then).
afterAll(() => {
  for (const c of children) c.kill('SIGTERM');
  l?.cleanup();
});

it('sends READY=1 to NOTIFY_SOCKET after the admin socket answers', async () => {
  expect(existsSync('/usr/bin/systemd-notify'), 'systemd-notify is needed (apt-get install systemd)').toBe(true);
  l = layout({ demo: 'name: demo\nidentity: {}\n' });
  const sock = join(l.dir, 'notify.sock');
  const listener = spawn(
    '/usr/bin/python3',
    [
      '-c',
      `import socket,sys\ns=socket.socket(socket.AF_UNIX,socket.SOCK_DGRAM)\ns.bind(sys.argv[1])\nprint("bound",flush=True)\nwhile True:\n  d=s.recv(4096).decode()\n  print(d.replace("\\n"," "),flush=True)\n  if "READY=1" in d: break\n`,
      sock,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  children.push(listener);
  let out = '';
  listener.stdout.on('data', (c: Buffer) => (out += c));
  await waitFor('the notify listener to bind', () => out.includes('bound'));
  const gw = spawn(process.execPath, [BIN, 'serve', '--config', l.configFile], {
    stdio: 'ignore',
    env: { ...process.env, NOTIFY_SOCKET: sock },
  });
  children.push(gw);
  try {
    await waitHealthy(l.adminSock);
    await waitFor('READY=1 on NOTIFY_SOCKET', () => out.includes('READY=1'));
    expect(out).toMatch(/READY=1 STATUS=serving MAINPID=\d+/);
  } finally {
    gw.kill('SIGTERM');
    listener.kill();
  }
});
