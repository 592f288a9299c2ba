// `guestgate serve`: run the gateway until SIGTERM/SIGINT; SIGHUP re-reads the inventory; SIGUSR2 (or
// `guestgate restart`, through the admin API) restarts it without refusing a connection: a new process
// takes over the listening sockets, then this one stops accepting, drains its exports and exits.
import { Command } from 'commander';
import type { Logger } from 'pino';
import { loadConfig } from '../config/load.ts';
import { GuestgateError } from '../errors.ts';
import { createLogger } from '../log.ts';
import { notifyPredecessor } from '../net/handover.ts';
import { type Service, startService } from '../service.ts';
import { configOption } from './output.ts';
import { notifySystemd } from './sd-notify.ts';

export function serveCommand(): Command {
  return new Command('serve')
    .description('run the gateway: the guest API socket (and images, admin API, NoCloud where configured)')
    .addOption(configOption())
    .action(async (opts: { config: string }) => {
      const config = loadConfig(opts.config);
      const log = createLogger(config.log.level, 2, config.log.format);
      if (process.getuid?.() !== 0)
        log.warn(
          { uid: process.getuid?.() },
          'not running as root: callers in other user namespaces cannot be identified (pid namespaces, uid maps of other users are unreadable); run guestgate as root',
        );
      let restart: (() => Promise<{ old_pid: number; new_pid: number }>) | undefined;
      const service = await startService(config, log, { restart: () => restart!() });
      const notifyFd = service.inherited?.notifyFd;
      if (notifyFd !== undefined) {
        notifyPredecessor(notifyFd);
        log.info({ previous: service.inherited?.parent }, 'restart: serving; the previous process drains and exits');
      }
      notifySystemd('ready', log); // with --pid: after a restart, systemd's MAINPID becomes this process
      await new Promise<void>((resolve) => {
        const run = lifecycle(service, log, resolve);
        restart = run.restart;
        process.once('SIGTERM', () => run.stop('SIGTERM'));
        process.once('SIGINT', () => run.stop('SIGINT'));
        process.on('SIGUSR2', () => {
          log.info('SIGUSR2: restarting (handing the sockets to a new process)');
          run.restart().catch((e) => log.error({ err: (e as Error).message }, 'restart failed; still serving'));
        });
        process.on('SIGHUP', () => {
          log.info('SIGHUP: reloading inventory');
          service.reload().catch((e) => log.error({ err: e }, 'reload failed'));
        });
      });
    });
}

/** One stop at most: by a signal, or after a successful handover to a new process. */
function lifecycle(service: Service, log: Logger, done: () => void) {
  let stopping = false;
  let handedOver = false; // the socket files belong to the new process from then on
  const stop = (why: string): void => {
    if (stopping) return;
    stopping = true;
    const handover = handedOver;
    if (!handover) notifySystemd('stopping', log); // after a handover the service goes on in the new process
    log.info({ reason: why }, 'shutting down');
    void service.stop({ handover }).then(done, (e) => {
      log.error({ err: e }, 'shutdown failed');
      done();
    });
  };
  const restart = async (): Promise<{ old_pid: number; new_pid: number }> => {
    if (stopping) throw new GuestgateError('E_CONFLICT', 'already stopping or restarting');
    stopping = true;
    try {
      const next = await service.handOver();
      log.info({ new_pid: next.pid }, 'restart: the new process serves; stopping accepting and draining');
      handedOver = true;
      stopping = false;
      setImmediate(() => stop('restart'));
      return { old_pid: process.pid, new_pid: next.pid };
    } catch (e) {
      stopping = false;
      throw e;
    }
  };
  return { stop, restart };
}
