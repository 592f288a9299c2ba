// Logs (pino). One root logger per process; modules take a child. `json`: one JSON object per line on
// stderr (numeric pino levels: 10 trace ... 60 fatal); `pretty`: human-readable lines (pino-pretty), for a
// terminal or a journal read by people.
import pino, { type Logger } from 'pino';
import pretty from 'pino-pretty';

export type LogFormat = 'json' | 'pretty';

export function createLogger(
  level: string,
  dest: NodeJS.WritableStream | number = 2,
  format: LogFormat = 'json',
): Logger {
  const opts = { level, base: { svc: 'guestgate' }, timestamp: pino.stdTimeFunctions.isoTime };
  if (format === 'pretty')
    return pino(
      opts,
      pretty({
        destination: dest,
        sync: true,
        colorize: typeof dest === 'number' && process.stderr.isTTY === true,
        ignore: 'pid,hostname,svc',
        translateTime: 'SYS:yyyy-mm-dd HH:MM:ss.l',
      }),
    );
  return pino(opts, typeof dest === 'number' ? pino.destination({ fd: dest, sync: false }) : dest);
}

export type { Logger };
