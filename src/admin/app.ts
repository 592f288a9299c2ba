// The admin API as one Koa app (served on the admin unix socket and, optionally, HTTPS with client
// certificates). Errors map to {"error": {...}} in one place; every request is counted and timed.
import Koa, { type Context, type Next } from 'koa';
import Router from '@koa/router';
import { GuestgateError } from '../errors.ts';
import type { AdminDeps } from './deps.ts';
import { toAdminError } from './http-errors.ts';
import * as inst from './routes/instances.ts';
import { getState } from './routes/state.ts';
import { previewInstance } from './routes/preview.ts';
import { imageTemplates } from './routes/image-templates.ts';
import { streamHostEvents } from './routes/events.ts';
import { cacheStats, healthz, listImages, metrics } from './routes/ops.ts';
import * as img from './routes/images.ts';
import { restart } from './routes/restart.ts';

export function createAdminApp(deps: AdminDeps): Koa {
  const app = new Koa();
  const router = new Router();
  const I = '/1.0/instances/:name';

  router.get('/healthz', healthz(deps));
  router.get('/metrics', metrics(deps));
  router.get('/1.0/instances', inst.listInstances(deps));
  router.post('/1.0/instances', inst.createInstance(deps));
  router.get(I, inst.getInstance(deps));
  router.put(I, inst.replaceInstance(deps));
  router.patch(I, inst.patchInstance(deps));
  router.delete(I, inst.deleteInstance(deps));
  router.put(`${I}/config/:key`, inst.putConfigKey(deps));
  router.delete(`${I}/config/:key`, inst.deleteConfigKey(deps));
  router.put(`${I}/devices/:device`, inst.putDevice(deps));
  router.delete(`${I}/devices/:device`, inst.deleteDevice(deps));
  router.get(`${I}/state`, getState(deps));
  router.get(`${I}/preview`, previewInstance(deps));
  router.get('/1.0/events', streamHostEvents(deps));
  router.get('/1.0/images', listImages(deps));
  router.post('/1.0/images', img.importImage(deps));
  router.delete('/1.0/images/:fingerprint', img.removeImage(deps));
  router.get('/1.0/images/:fingerprint/templates', imageTemplates(deps));
  router.patch('/1.0/images/:fingerprint', img.patchImage(deps));
  router.get('/1.0/cache', cacheStats(deps));
  router.post('/1.0/cache/verify', img.verifyCache(deps));
  router.post('/1.0/cache/gc', img.gcCache(deps));
  router.post('/1.0/restart', restart(deps));

  app.use(errorsAndMetrics(deps));
  app.use(router.routes());
  app.use(
    router.allowedMethods({
      throw: true,
      methodNotAllowed: () => new GuestgateError('E_METHOD_NOT_ALLOWED', 'method not allowed'),
    }),
  );
  app.on('error', (err: Error) => deps.log.debug({ err }, 'admin connection error'));
  return app;
}

function errorsAndMetrics(deps: AdminDeps) {
  return async (ctx: Context, next: Next): Promise<void> => {
    const started = performance.now();
    try {
      await next();
      if (ctx.status === 404 && ctx.body == null)
        throw new GuestgateError('E_NOT_FOUND', `no such endpoint: ${ctx.method} ${ctx.path}`);
    } catch (e) {
      const w = toAdminError(e);
      ctx.status = w.status;
      ctx.body = w.body;
      if (w.status >= 500) deps.log.error({ err: e, method: ctx.method, path: ctx.path }, 'admin request failed');
    } finally {
      const route = (ctx as Context & { _matchedRoute?: string })._matchedRoute ?? 'unmatched';
      deps.obs.adminRequests.inc({ method: ctx.method, route, status: String(ctx.status) });
      deps.obs.adminLatency.observe({ route }, (performance.now() - started) / 1000);
      if (ctx.method !== 'GET')
        deps.log.info({ method: ctx.method, path: ctx.path, status: ctx.status }, 'admin request');
    }
  };
}
