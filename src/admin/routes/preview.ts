// GET /1.0/instances/<name>/preview[?trigger=create|copy|start|rename&dialect=lxd-5.0|lxd|incus]: what
// the guest will see (guest API view, NoCloud files with their source, rendered image templates with
// paths and the keys behind each line), as JSON or YAML (Accept). Dialect: the configured one unless
// asked. Templates: the instance's image's when it is in the cache, else nocloud.templates_dir's,
// else guestgate's default set.
import yaml from 'js-yaml';
import type { Context } from 'koa';
import { buildPreview } from '../../cloudinit/preview.ts';
import { GuestgateError } from '../../errors.ts';
import { isTrigger, type Trigger } from '../../templates/context.ts';
import type { AdminDeps } from '../deps.ts';
import { instanceKeyOf } from './instances.ts';

const DIALECTS = ['lxd-5.0', 'lxd', 'incus'];

function param(ctx: Context, key: string, fallback: string, ok: (v: string) => boolean): string {
  const v = ctx.query[key];
  if (v === undefined) return fallback;
  if (typeof v !== 'string' || !ok(v))
    throw new GuestgateError('E_BAD_REQUEST', `${key}: unexpected value ${JSON.stringify(v)}`, { key });
  return v;
}

export const previewInstance = (deps: AdminDeps) => async (ctx: Context) => {
  const instance = deps.instances.get(instanceKeyOf(ctx));
  const trigger = param(ctx, 'trigger', 'create', isTrigger) as Trigger;
  const dialect = param(ctx, 'dialect', deps.dialect, (v) => DIALECTS.includes(v));
  const p = buildPreview(instance, await deps.templates.for(instance), trigger, dialect);
  if (/yaml/i.test(ctx.get('Accept'))) {
    ctx.type = 'application/yaml';
    ctx.body = yaml.dump(p, { lineWidth: -1, noRefs: true });
  } else ctx.body = p;
};
