// `guestgate serve`: run the gateway until SIGTERM/SIGINT; SIGHUP re-reads the inventory.
import { Command } from 'commander';
import { loadConfig } from '../config/load.ts';
import { createLogger } from '../log.ts';
import { startService } from '../service.ts';
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
      const service = await startService(config, log);
      notifySystemd('ready', log);
      await new Promise<void>((resolve) => {
        let stopping = false;
        const stop = (sig: string): void => {
          if (stopping) return;
          stopping = true;
          notifySystemd('stopping', log);
          log.info({ signal: sig }, 'shutting down');
          void service.stop().then(resolve, (e) => {
            log.error({ err: e }, 'shutdown failed');
            resolve();
          });
        };
        process.once('SIGTERM', () => stop('SIGTERM'));
        process.once('SIGINT', () => stop('SIGINT'));
        process.on('SIGHUP', () => {
          log.info('SIGHUP: reloading inventory');
          service.reload().catch((e) => log.error({ err: e }, 'reload failed'));
        });
      });
    });
}
