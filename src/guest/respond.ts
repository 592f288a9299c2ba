// Writing guest responses through Koa with exact headers and bytes, in the order Go's server sends
// them: the handler's headers, then `Date`, then `Content-Length` (Koa sets the length with the body,
// so Date goes in just before it; Node would otherwise append Date after the length).
import type { Context } from 'koa';
import { httpDate } from '../net/http-date.ts';
import { goJson } from '../util/gojson.ts';
import type { WireError } from './http-errors.ts';

export function sendWire(ctx: Context, e: WireError): void {
  ctx.status = e.status;
  ctx.set('Content-Type', e.contentType);
  ctx.set('X-Content-Type-Options', 'nosniff');
  for (const [k, v] of Object.entries(e.headers ?? {})) ctx.set(k, v);
  ctx.set('Date', httpDate());
  ctx.body = e.body;
}

/** 200 JSON as devlxd encodes it: no HTML escaping, trailing LF, no envelope. */
export function sendJson(ctx: Context, value: unknown): void {
  sendJsonBody(ctx, goJson(value, { escapeHTML: false }));
}

/** 200 with a JSON body already encoded (see render-cache.ts). */
export function sendJsonBody(ctx: Context, body: string | Buffer): void {
  sendRaw(ctx, 'application/json', body);
}

/**
 * 200 raw value, byte-exact, no newline added. The hot path of the guest API: written on the response
 * itself, headers as one list in Go's order, past Koa's response handling (its header setters, body
 * setter and respond() were ~12% of a request's CPU in a profile under load).
 */
export function sendRaw(ctx: Context, contentType: string, text: string | Buffer): void {
  ctx.respond = false;
  const length = typeof text === 'string' ? Buffer.byteLength(text) : text.length;
  ctx.res.writeHead(200, ['Content-Type', contentType, 'Date', httpDate(), 'Content-Length', String(length)]);
  ctx.res.end(text);
}
