// GET /1.0 (instance info) and PATCH /1.0 (readiness: {"state":"Ready"|"Started"}).
import type { Context } from 'koa';
import { GuestgateError } from '../../errors.ts';
import type { Resolved } from '../../inventory/inventory.ts';
import type { GuestDeps } from '../deps.ts';
import { decodeGoStatePut } from '../go-json-decode.ts';
import { sendJson, sendRaw } from '../respond.ts';

const MAX_PATCH_BODY = 64 * 1024;

export function getInfo(deps: GuestDeps) {
  return async (ctx: Context, r: Resolved): Promise<void> => {
    // lxd-5.0 answers PATCH /1.0 as GET; with guest.record_ready the state is recorded all the same.
    if (deps.recordReadyQuietly && ctx.method === 'PATCH') await recordStateQuietly(deps, ctx, r);
    const i = r.instance;
    if (deps.dialect.info === 'legacy') {
      sendJson(ctx, { state: '', api_version: '1.0', instance_type: i.type, location: i.location });
      return;
    }
    const state = deps.ready.get(i.key)?.state ?? 'Started';
    sendJson(ctx, {
      state,
      api_version: '1.0',
      instance_type: i.type,
      location: i.location !== 'none' ? i.location : deps.location,
    });
  };
}

export function patchInfo(deps: GuestDeps) {
  return async (ctx: Context, r: Resolved): Promise<void> => {
    const raw = await readBody(ctx, MAX_PATCH_BODY);
    let state: unknown;
    try {
      state = decodeStatePut(raw, deps.dialect.putType);
    } catch (e) {
      const msg = (e as Error).message;
      throw new GuestgateError('E_BAD_REQUEST', msg, { decodeError: msg });
    }
    if (state !== 'Ready' && state !== 'Started')
      throw new GuestgateError('E_INVALID_STATE', 'invalid state', { state });
    await deps.ready.set(r.instance.key, state);
    deps.log.info({ instance: r.instance.key, state }, 'guest reported state');
    sendRaw(ctx, 'application/octet-stream', '');
  };
}

/** Decode like Go's json.Decoder into struct { State string }: errors worded as Go words them. */
export function decodeStatePut(body: string, putType: 'DevLXDPut' | 'DevIncusPut' = 'DevLXDPut'): unknown {
  return decodeGoStatePut(body, putType);
}

async function readBody(ctx: Context, limit: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of ctx.req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw new GuestgateError('E_BAD_REQUEST', 'request body too large', { maxBytes: limit });
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * lxd-5.0 with guest.record_ready: take a PATCH /1.0 body as a readiness report when it is a valid one, and
 * never let it change the answer (the caller then answers as LXD 5.0.2 does, ignoring the method).
 */
async function recordStateQuietly(deps: GuestDeps, ctx: Context, r: Resolved): Promise<void> {
  let state: unknown;
  try {
    state = decodeStatePut(await readBody(ctx, MAX_PATCH_BODY));
  } catch {
    return;
  }
  if (state !== 'Ready' && state !== 'Started') return;
  await deps.ready.set(r.instance.key, state);
  deps.log.info({ instance: r.instance.key, state }, 'guest reported state (lxd-5.0, recorded quietly)');
}
