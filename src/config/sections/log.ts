import { obj, oneOf, opt } from '../validate.ts';

export const logSection = () =>
  obj({
    level: opt(oneOf(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const), 'info'),
    /** json: one JSON object per line (pino; journald, Loki); pretty: human-readable lines (pino-pretty). */
    format: opt(oneOf(['json', 'pretty'] as const), 'json'),
    /** Log one line per guest request (with the instance name). */
    requests: opt(oneOf(['all', 'errors', 'none'] as const), 'errors'),
  });
