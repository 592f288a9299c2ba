// The admin API: host-side instance management, readiness, events, metrics. Always on a unix socket
// (mode 0600 by default, so only root can drive it); optionally also HTTPS with client certificates.
import { join } from 'node:path';
import { bool, fileMode, obj, opt, parseDuration, size, str, ValidationError, type Validator } from '../validate.ts';
import { path, type PathContext } from '../paths.ts';

const httpsSection = (ctx: PathContext) =>
  obj({
    /** host:port to listen on, e.g. "0.0.0.0:8443" or "[::]:8443". */
    listen: str({ pattern: /^(\[[0-9a-fA-F:.]+\]|[^:\s]*):\d{1,5}$/, hint: 'host:port, e.g. "0.0.0.0:8443"' }),
    cert: path(ctx, 'file'),
    key: path(ctx, 'file'),
    /** CA that signs the orchestrators' client certificates; clients without one are refused at TLS. */
    client_ca: path(ctx, 'file'),
  });

export const adminSection = (ctx: PathContext) =>
  obj({
    enabled: opt(bool(), true),
    /** Default: <runtime_dir>/admin.sock */
    socket: opt(path(ctx)),
    socket_mode: opt(fileMode(), 0o600),
    /** Largest request body accepted (instance documents, config values). */
    max_body: opt(size(), 1024 * 1024),
    /** Longest a readiness long-poll may wait (the `timeout` query parameter is capped to this). */
    max_wait: opt(waitLimit, 3_600_000),
    https: opt(httpsSection(ctx)),
  });

/** A duration like every other ("30s", "1h"; a bare number is seconds), from 1s to 24h; in ms. */
const waitLimit: Validator<number> = (v, key) => {
  const ms = parseDuration(v, key);
  if (ms < 1000 || ms > 86_400_000)
    throw new ValidationError(key, `expected a duration from 1s to 24h, got ${JSON.stringify(v)}`);
  return ms;
};

export type AdminConfig = ReturnType<ReturnType<typeof adminSection>>;

export const adminSocketPath = (runtimeDir: string, admin: AdminConfig): string =>
  admin.socket ?? join(runtimeDir, 'admin.sock');
