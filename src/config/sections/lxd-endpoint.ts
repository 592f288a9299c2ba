// How to reach a real LXD/Incus server: shared by the inventory source and the image upstream.
import { opt, str } from '../validate.ts';
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
