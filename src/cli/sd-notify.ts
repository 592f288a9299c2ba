// systemd readiness (Type=notify): Node has no unix datagram sockets, so tell systemd through the
// `systemd-notify` helper (the unit sets NotifyAccess=all, as the helper is a child process).
// Does nothing outside systemd (no NOTIFY_SOCKET).
import { spawn } from 'node:child_process';
import type { Logger } from 'pino';

export function notifySystemd(state: 'ready' | 'stopping', log: Logger): void {
  if (!process.env.NOTIFY_SOCKET) return;
  const args = state === 'ready' ? ['--ready', `--pid=${process.pid}`, '--status=serving'] : ['STOPPING=1'];
  const child = spawn('systemd-notify', args, { stdio: 'ignore' });
  child.on('error', (e) => log.warn({ err: e }, 'systemd-notify failed; is systemd installed?'));
}
