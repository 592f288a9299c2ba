// GET /1.0/events[?type=instance-ready,instance-updated&instance=<key>]: host-side lifecycle events
// as newline-delimited JSON, until the client disconnects. A blank line every 15 s keeps proxies awake.
import { PassThrough } from 'node:stream';
import type { Context } from 'koa';
import type { AdminDeps } from '../deps.ts';
import type { HostEvent } from '../host-events.ts';

export const streamHostEvents = (deps: AdminDeps) => (ctx: Context) => {
  const types = typeof ctx.query.type === 'string' && ctx.query.type ? new Set(ctx.query.type.split(',')) : undefined;
  const only = typeof ctx.query.instance === 'string' ? ctx.query.instance : undefined;
  const out = new PassThrough();
  const onEvent = (e: HostEvent): void => {
    if (types && !types.has(e.action)) return;
    if (only && e.instance !== only) return;
    out.write(`${JSON.stringify(e)}\n`);
  };
  const keepalive = setInterval(() => out.write('\n'), 15_000);
  const stop = (): void => {
    clearInterval(keepalive);
    deps.events.off('event', onEvent);
    out.end();
  };
  deps.events.on('event', onEvent);
  ctx.req.on('close', stop);
  ctx.req.socket.setTimeout(0);
  ctx.status = 200;
  ctx.type = 'application/x-ndjson';
  ctx.set('Cache-Control', 'no-store');
  ctx.body = out;
  // Headers out now, so a client knows it is subscribed before the first event.
  ctx.res.flushHeaders();
};
