// GET /1.0/images/{fingerprint}/export: gates (API on, images flag on), then a verified export
// from the image cache. Errors before the status line only; after it, the transfer is cut.
import type { Context } from 'koa';
import { GuestgateError } from '../../errors.ts';
import type { Resolved } from '../../inventory/inventory.ts';
import { isEnabledFlag } from '../dialects.ts';
import type { GuestDeps } from '../deps.ts';
import { goSortedHeaders } from './go-header-order.ts';

export function exportImage(deps: GuestDeps) {
  return async (ctx: Context, r: Resolved): Promise<void> => {
    const d = deps.dialect;
    if (!isEnabledFlag(r.instance.config, d.keys.images))
      throw new GuestgateError('E_FORBIDDEN', `${d.keys.images} is not true`);
    // lookup() rejects anything but hex (E_BAD_FINGERPRINT, answered as 404) before it touches a path.
    const fp = decodeURIComponentSafe(ctx.path.slice('/1.0/images/'.length, -'/export'.length));
    const project = ctx.query.project;
    // guestgate serves the images of project `default` only; another project is answered as the server
    // answers a project it does not have (LXD 5.0.2 looks the project up before the image).
    if (project !== undefined && project !== 'default' && d.images.unknownProject !== undefined)
      throw new GuestgateError('E_PROJECT_NOT_FOUND', 'unknown project', { project });
    if (d.images.match === 'exact' && project !== undefined && project !== 'default')
      throw new GuestgateError('E_IMAGE_NOT_FOUND', 'images are served for project default only', {
        project,
        fingerprint: fp,
      });
    if (!deps.images) throw new GuestgateError('E_IMAGE_NOT_FOUND', 'no image cache configured', { fingerprint: fp });
    const image = await deps.images.lookup(fp, d.images.match);
    if (!image) throw new GuestgateError('E_IMAGE_NOT_FOUND', 'image not found', { fingerprint: fp });
    ctx.respond = false;
    const abort = new AbortController();
    ctx.req.socket.once('close', () => abort.abort());
    // Go writes a handler's headers sorted by name: the export's header order is the server's.
    goSortedHeaders(ctx.res);
    await deps.images.serveExport(ctx.req, ctx.res, image, {
      signal: abort.signal,
      extraHeaders: { ...d.images.extraHeaders },
    });
  };
}

function decodeURIComponentSafe(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
