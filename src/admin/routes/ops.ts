// /healthz, /metrics, and the image cache views (list and stats).
import type { Context } from 'koa';
import type { AdminDeps } from '../deps.ts';
import { PROMETHEUS_CONTENT_TYPE } from '../../metrics/registry.ts';

export const healthz = (deps: AdminDeps) => (ctx: Context) => {
  ctx.body = { status: 'ok', instances: deps.inventory.size };
};

export const metrics = (deps: AdminDeps) => async (ctx: Context) => {
  ctx.type = PROMETHEUS_CONTENT_TYPE;
  ctx.body = await deps.obs.registry.render();
};

export const listImages = (deps: AdminDeps) => async (ctx: Context) => {
  ctx.body = await deps.images.list();
};

export const cacheStats = (deps: AdminDeps) => (ctx: Context) => {
  ctx.body = deps.images.stats();
};
