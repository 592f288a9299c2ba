// GET /1.0/instances/<name>/preview[?trigger=create|copy|start|rename&dialect=lxd-5.0|lxd|incus]: what
// the guest will see (guest API view, NoCloud files with their source, rendered image templates with
// paths), as JSON or YAML (Accept). Templates: the instance's image's when it is in the cache, else
// guestgate's default set.
import yaml from 'js-yaml';
import type { Context } from 'koa';
import { buildPreview } from '../../cloudinit/preview.ts';
import { GuestgateError } from '../../errors.ts';
import { isTrigger } from '../../templates/context.ts';
import { templateSetFor } from '../../templates/for-instance.ts';
import { DEFAULT_TEMPLATES_DIR, loadTemplateDir } from '../../templates/load-dir.ts';
import type { AdminDeps, AdminImages } from '../deps.ts';
import { instanceKeyOf } from './instances.ts';

const DIALECTS = ['lxd-5.0', 'lxd', 'incus'];

function param(ctx: Context, key: string, fallback: string, ok: (v: string) => boolean): string {
  const v = ctx.query[key];
  if (v === undefined) return fallback;
  if (typeof v !== 'string' || !ok(v))
    throw new GuestgateError('E_BAD_REQUEST', `${key}: unexpected value ${JSON.stringify(v)}`, { key });
  return v;
}

export const previewInstance = (deps: AdminDeps) => {
  const defaults = loadTemplateDir(DEFAULT_TEMPLATES_DIR, 'default templates');
  const withCache = (i: AdminImages): (AdminImages & { cacheDir: string }) | undefined =>
    'cacheDir' in i && typeof i.cacheDir === 'string' ? (i as AdminImages & { cacheDir: string }) : undefined;
  return async (ctx: Context) => {
    const instance = deps.instances.get(instanceKeyOf(ctx));
    const trigger = param(ctx, 'trigger', 'create', isTrigger);
    const dialect = param(ctx, 'dialect', 'lxd-5.0', (v) => DIALECTS.includes(v));
    const set = await templateSetFor(instance, withCache(deps.images), defaults);
    const p = buildPreview(instance, set, trigger as Parameters<typeof buildPreview>[2], dialect);
    if (/yaml/i.test(ctx.get('Accept'))) {
      ctx.type = 'application/yaml';
      ctx.body = yaml.dump(p, { lineWidth: -1, noRefs: true });
    } else ctx.body = p;
  };
};
