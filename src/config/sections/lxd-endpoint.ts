// How to reach a real LXD/Incus server: shared by the inventory source and the image upstream.
import { opt, str, ValidationError } from '../validate.ts';
import { path, type PathContext } from '../paths.ts';

export const lxdEndpointFields = (ctx: PathContext) => ({
  /** The server's unix socket (e.g. /var/lib/lxd/unix.socket); or `url` + client certificate. */
  socket: opt(path(ctx)),
  url: opt(str({ pattern: /^https:\/\//, hint: 'an https:// URL' })),
  client_cert: opt(path(ctx, 'file')),
  client_key: opt(path(ctx, 'file')),
  server_cert: opt(path(ctx, 'file')),
  project: opt(str({ nonEmpty: true }), 'default'),
});

export interface LxdEndpointConfig {
  readonly socket: string | undefined;
  readonly url: string | undefined;
  readonly client_cert: string | undefined;
  readonly client_key: string | undefined;
  readonly server_cert: string | undefined;
}

/** A client certificate goes with a URL (LXD's HTTPS API refuses anonymous clients). */
export function checkUrlCredentials(c: LxdEndpointConfig, key: string): void {
  if (c.url && (!c.client_cert || !c.client_key))
    throw new ValidationError(key, '`url` needs `client_cert` and `client_key`');
}
