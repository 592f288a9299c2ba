// GET /1.0/images/<fingerprint>/templates: a cached image's template set (metadata.yaml's
// `templates:` entries and the templates/ sources; no entries when it has none), for the CLI's
// `seed` and `preview` while the gateway owns the cache. 404 E_IMAGE_NOT_FOUND when not cached.
import type { Context } from 'koa';
import { GuestgateError } from '../../errors.ts';
import { imageMetadataFile } from '../../images/index.ts';
import { loadImageTemplates } from '../../templates/load-image.ts';
import { toWire } from '../../templates/wire.ts';
import type { AdminDeps } from '../deps.ts';

export const imageTemplates = (deps: AdminDeps) => async (ctx: Context) => {
  const fp = String(ctx.params.fingerprint);
  const file = await imageMetadataFile(deps.images, fp);
  if (!file) throw new GuestgateError('E_IMAGE_NOT_FOUND', `image ${fp} is not in the cache`, { fingerprint: fp });
  ctx.body = toWire(await loadImageTemplates(file.path, file.ext, `image ${fp.slice(0, 12)}`));
};
