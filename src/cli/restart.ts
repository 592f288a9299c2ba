// `guestgate restart`: a zero-downtime restart (or upgrade, once the new version is installed in place)
// of the running gateway through its admin API (POST /1.0/restart). The gateway starts a new process on
// its listening sockets, answers once that process serves, then drains its exports in flight and exits.
// Without an admin API, send the gateway SIGUSR2 (same handover, see docs/operations.md).
import { existsSync } from 'node:fs';
import { Command } from 'commander';
import { parseDuration } from '../config/validate.ts';
import { GuestgateError } from '../errors.ts';
import { AdminClient, adminSocketFrom, type ConnectOptions } from './client.ts';
import { configOption } from './output.ts';

interface RestartOpts extends ConnectOptions {
  wait?: string;
}

export function restartCommand(out: (s: string) => void = (s) => void process.stdout.write(s)): Command {
  return new Command('restart')
    .description('restart the running gateway without refusing a connection (new process on the same sockets)')
    .addOption(configOption())
    .option('--admin <socket>', 'admin socket (default: <runtime_dir>/admin.sock from the config, or $GUESTGATE_ADMIN)')
    .option('--wait <duration>', 'also wait until the old process has drained its exports and exited (e.g. 6m)')
    .action(async (o: RestartOpts) => {
      const r = await new AdminClient(adminSocketFrom(o)).call<{ old_pid: number; new_pid: number }>(
        'POST',
        '/1.0/restart',
      );
      out(`restarted: pid ${r.old_pid} -> pid ${r.new_pid}\n`);
      if (o.wait === undefined) return;
      const until = Date.now() + parseDuration(o.wait, '--wait');
      while (existsSync(`/proc/${r.old_pid}`)) {
        if (Date.now() > until)
          throw new GuestgateError('E_TIMEOUT', `pid ${r.old_pid} is still draining after ${o.wait}`);
        await new Promise((res) => setTimeout(res, 100));
      }
      out(`pid ${r.old_pid} drained and exited\n`);
    });
}
