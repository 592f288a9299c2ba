// The image cache, changed only by the daemon (its one writer): import (the image's bytes as the
// request body), rm, pin, and cache verify/gc on the live index.
//   POST   /1.0/images?fingerprint=<fp>&parts=<role>:<size>[,<role>:<size>]&public=0|1&pinned=0|1
//   DELETE /1.0/images/<fp or unique prefix>          PATCH /1.0/images/<fp> {"pinned": bool}
//   POST   /1.0/cache/verify                          POST  /1.0/cache/gc
import type { Context } from 'koa';
import { GuestgateError } from '../../errors.ts';
import type { PartRole } from '../../images/store/manifest.ts';
import type { StreamPart } from '../../images/upstreams/files.ts';
import { parseBody, readBody } from '../body.ts';
import type { AdminDeps } from '../deps.ts';

const ROLES: readonly string[] = ['unified', 'metadata', 'rootfs', 'rootfs.img'];

const query = (ctx: Context, key: string): string | undefined =>
  typeof ctx.query[key] === 'string' ? (ctx.query[key] as string) : undefined;

function flag(ctx: Context, key: string, dflt: boolean): boolean {
  const v = query(ctx, key);
  if (v === undefined) return dflt;
  if (v === '1' || v === 'true') return true;
  if (v === '0' || v === 'false') return false;
  throw new GuestgateError('E_BAD_REQUEST', `query ${key}: expected 0 or 1, got ${JSON.stringify(v)}`, { key });
}

/** "unified:123" or "metadata:10,rootfs:20": the parts the body carries, back to back. */
export function parseParts(text: string | undefined): StreamPart[] {
  const bad = (why: string): never => {
    throw new GuestgateError('E_BAD_REQUEST', `query parts: ${why} (expected <role>:<size>[,<role>:<size>])`, {
      key: 'parts',
    });
  };
  if (!text) return bad('missing');
  return text.split(',').map((p) => {
    const [role, size] = p.split(':');
    if (!role || !ROLES.includes(role)) bad(`unknown role ${JSON.stringify(role)}`);
    if (!size || !/^\d+$/.test(size) || !Number.isSafeInteger(Number(size))) bad(`bad size ${JSON.stringify(size)}`);
    return { role: role as PartRole, size: Number(size) };
  });
}

export const importImage = (deps: AdminDeps) => async (ctx: Context) => {
  const fingerprint = query(ctx, 'fingerprint');
  if (fingerprint?.length !== 64)
    throw new GuestgateError('E_BAD_REQUEST', 'query fingerprint: expected the sha256 of the image (64 hex digits)', {
      key: 'fingerprint',
    });
  const parts = parseParts(query(ctx, 'parts'));
  const declared = Number(ctx.get('Content-Length'));
  const total = parts.reduce((n, p) => n + p.size, 0);
  if (Number.isFinite(declared) && ctx.get('Content-Length') !== '' && declared !== total)
    throw new GuestgateError('E_BAD_REQUEST', `Content-Length ${declared} differs from the parts' ${total} bytes`);
  ctx.req.socket.setTimeout(0);
  const info = await deps.images.importStream(fingerprint as string, ctx.req as AsyncIterable<Buffer>, parts, {
    public: flag(ctx, 'public', true),
    pinned: flag(ctx, 'pinned', false),
  });
  ctx.status = 201;
  ctx.body = info;
};

export const removeImage = (deps: AdminDeps) => async (ctx: Context) => {
  const { fingerprint } = deps.images.resolve(ctx.params.fingerprint ?? '');
  await deps.images.remove(fingerprint);
  ctx.body = { removed: [fingerprint] };
};

export const patchImage = (deps: AdminDeps) => async (ctx: Context) => {
  const { fingerprint } = deps.images.resolve(ctx.params.fingerprint ?? '');
  const doc = parseBody(await readBody(ctx.req, deps.maxBody), ctx.get('Content-Type')) as { pinned?: unknown };
  if (doc === null || typeof doc !== 'object' || typeof doc.pinned !== 'boolean')
    throw new GuestgateError('E_BAD_REQUEST', 'request body: expected {"pinned": true|false}', { key: 'pinned' });
  ctx.body = await deps.images.pin(fingerprint, doc.pinned);
};

export const verifyCache = (deps: AdminDeps) => async (ctx: Context) => {
  ctx.req.socket.setTimeout(0);
  ctx.body = await deps.images.verify();
};

export const gcCache = (deps: AdminDeps) => async (ctx: Context) => {
  ctx.body = await deps.images.gc();
};
