// GET /1.0/instances/<name>/state[?wait=Ready|Started&timeout=30s&after=<ISO time>]: the guest-reported
// state; with `wait`, a long-poll that answers as soon as the guest PATCHes that state.
import type { Context } from 'koa';
import { GuestgateError } from '../../errors.ts';
import { parseDuration, ValidationError } from '../../config/validate.ts';
import type { ReadyState } from '../../state/ready.ts';
import type { AdminDeps } from '../deps.ts';
import { waitForState } from '../readiness.ts';
import { instanceKeyOf } from './instances.ts';

const q = (ctx: Context, k: string): string | undefined =>
  typeof ctx.query[k] === 'string' ? (ctx.query[k] as string) : undefined;

export const getState = (deps: AdminDeps) => async (ctx: Context) => {
  const key = instanceKeyOf(ctx);
  deps.instances.get(key);
  const wait = q(ctx, 'wait');
  if (wait === undefined) {
    const r = deps.ready.get(key);
    ctx.body = { instance: key, state: r?.state ?? 'Unknown', since: r?.since ?? null };
    return;
  }
  if (wait !== 'Ready' && wait !== 'Started')
    throw new GuestgateError('E_BAD_REQUEST', `wait: expected "Ready" or "Started", got ${JSON.stringify(wait)}`, {
      key: 'wait',
    });
  if (deps.noReadiness) throw new GuestgateError('E_BAD_REQUEST', deps.noReadiness, { key: 'wait' });
  let timeoutMs = 30_000;
  const t = q(ctx, 'timeout');
  if (t !== undefined) {
    try {
      timeoutMs = parseDuration(/^\d+(\.\d+)?$/.test(t) ? Number(t) : t, 'timeout');
    } catch (e) {
      if (e instanceof ValidationError) throw new GuestgateError('E_BAD_REQUEST', e.message, { key: 'timeout' });
      throw e;
    }
  }
  timeoutMs = Math.min(timeoutMs, deps.maxWaitMs);
  const afterText = q(ctx, 'after');
  const after = afterText === undefined ? undefined : Date.parse(afterText);
  if (after !== undefined && Number.isNaN(after))
    throw new GuestgateError('E_BAD_REQUEST', `after: expected an ISO 8601 time, got ${JSON.stringify(afterText)}`, {
      key: 'after',
    });
  const abort = new AbortController();
  ctx.req.on('close', () => abort.abort());
  const waiterDone = deps.obs.readyWaiter();
  try {
    const r = await waitForState(deps.ready, key, {
      state: wait as ReadyState,
      timeoutMs,
      after,
      signal: abort.signal,
    });
    ctx.body = { instance: key, state: r.state, since: r.since };
  } finally {
    waiterDone();
  }
};
