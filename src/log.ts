// Structured JSON logs (pino). One root logger per process; modules take a child.
import pino, { type Logger } from 'pino';

export function createLogger(level: string, dest: NodeJS.WritableStream | number = 2): Logger {
  return pino(
    { level, base: { svc: 'guestgate' }, timestamp: pino.stdTimeFunctions.isoTime },
    typeof dest === 'number' ? pino.destination({ fd: dest, sync: false }) : dest,
  );
}

export type { Logger };
