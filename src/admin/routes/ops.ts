// /healthz, /metrics, and the image/cache views (shown when the image service offers list()/stats()).
import type { Context } from 'koa';
import { GuestgateError } from '../../errors.ts';
import type { AdminDeps } from '../deps.ts';
import { PROMETHEUS_CONTENT_TYPE } from '../../metrics/registry.ts';

export const healthz = (deps: AdminDeps) => (ctx: Context) => {
  ctx.body = { status: 'ok', instances: deps.inventory.size };
};

export const metrics = (deps: AdminDeps) => async (ctx: Context) => {
  ctx.type = PROMETHEUS_CONTENT_TYPE;
  ctx.body = await deps.obs.registry.render();
};

type Viewable = { list?: () => unknown; stats?: () => unknown };

const call = (deps: AdminDeps, fn: 'list' | 'stats', what: string) => async (ctx: Context) => {
  const images = deps.images as Viewable | undefined;
  const f = images?.[fn];
  if (typeof f !== 'function')
    throw new GuestgateError('E_METHOD_NOT_IMPLEMENTED', `no ${what} view: the image service is not configured`);
  ctx.body = await f.call(images);
};

export const listImages = (deps: AdminDeps) => call(deps, 'list', 'images');
export const cacheStats = (deps: AdminDeps) => call(deps, 'stats', 'cache');
