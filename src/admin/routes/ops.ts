// /healthz, /metrics, and the image cache views (list and stats).
import type { Context } from 'koa';
import type { AdminDeps } from '../deps.ts';
import { PROMETHEUS_CONTENT_TYPE } from '../../metrics/registry.ts';

/** ok, or degraded with the reasons (still 200: the gateway serves; a monitor alerts on `status`). */
export const healthz = (deps: AdminDeps) => (ctx: Context) => {
  const reasons: string[] = [];
  const rejected = deps.inventory.source.rejected;
  if (rejected?.size)
    reasons.push(`${rejected.size} inventory file(s) rejected: ${[...rejected].sort().join(', ')} (see the log)`);
  const unreachable = deps.inventory.source.unreachable;
  if (unreachable) reasons.push(`inventory source unreachable: ${unreachable}`);
  reasons.push(...(deps.inventory.source.degraded ?? []));
  reasons.push(...deps.images.health());
  ctx.body = {
    status: reasons.length ? 'degraded' : 'ok',
    instances: deps.inventory.size,
    ...(reasons.length ? { reasons } : {}),
  };
};

export const metrics = (deps: AdminDeps) => async (ctx: Context) => {
  ctx.type = PROMETHEUS_CONTENT_TYPE;
  ctx.body = await deps.obs.registry.metrics();
};

export const listImages = (deps: AdminDeps) => async (ctx: Context) => {
  ctx.body = await deps.images.list();
};

export const cacheStats = (deps: AdminDeps) => (ctx: Context) => {
  ctx.body = deps.images.stats();
};
