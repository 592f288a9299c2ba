// POST /1.0/restart: hand the listening sockets to a new guestgate process (same binary path and
// arguments, so an upgrade installed in place is what starts). Answers once the new process serves on
// every socket; this one then stops accepting, drains its exports in flight and exits.
import type { Context } from 'koa';
import { GuestgateError } from '../../errors.ts';
import type { AdminDeps } from '../deps.ts';

export const restart = (deps: AdminDeps) => async (ctx: Context) => {
  if (!deps.restart)
    throw new GuestgateError('E_METHOD_NOT_IMPLEMENTED', 'this admin API is not served by a gateway that can restart');
  ctx.body = await deps.restart();
};
