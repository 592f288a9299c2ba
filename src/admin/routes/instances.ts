// /1.0/instances: list, get, create, replace, patch, delete; config keys and devices one by one.
import type { Context } from 'koa';
import { GuestgateError } from '../../errors.ts';
import { instanceToYaml } from '../../inventory/parse.ts';
import type { Instance } from '../../inventory/model.ts';
import { parseBody, readBody } from '../body.ts';
import type { AdminDeps } from '../deps.ts';
import { instanceView } from '../document.ts';
import { BODY, keyOf, type InstancePatch } from '../instances.ts';

export const instanceKeyOf = (ctx: Context): string =>
  keyOf(ctx.params.name ?? '', typeof ctx.query.project === 'string' ? ctx.query.project : undefined);

const wantsYaml = (ctx: Context): boolean => /yaml/i.test(ctx.get('Accept'));

function show(ctx: Context, deps: AdminDeps, i: Instance, status = 200): void {
  ctx.status = status;
  if (wantsYaml(ctx)) {
    ctx.type = 'application/yaml';
    ctx.body = instanceToYaml(i);
  } else ctx.body = instanceView(i, deps.ready.get(i.key));
}

async function body(ctx: Context, deps: AdminDeps): Promise<unknown> {
  return parseBody(await readBody(ctx.req, deps.maxBody), ctx.get('Content-Type'));
}

const stringValue = (v: unknown, key: string): string => {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  throw new GuestgateError('E_BAD_REQUEST', `${BODY}: ${key}: expected a string value`, { key });
};

/** {config: {k: "v" | null}, devices: {name: {..} | null}}: merge-patch semantics. */
function toPatch(doc: unknown): InstancePatch {
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc))
    throw new GuestgateError('E_BAD_REQUEST', `${BODY}: expected a mapping with config and/or devices`);
  const { config, devices, ...rest } = doc as Record<string, unknown>;
  const extra = Object.keys(rest)[0];
  if (extra !== undefined)
    throw new GuestgateError(
      'E_BAD_REQUEST',
      `${BODY}: ${extra}: unknown key (PATCH takes config and devices; PUT replaces the instance)`,
      { key: extra },
    );
  const out: { config?: Record<string, string | null>; devices?: Record<string, Record<string, string> | null> } = {};
  if (config !== undefined) {
    if (config === null || typeof config !== 'object' || Array.isArray(config))
      throw new GuestgateError('E_BAD_REQUEST', `${BODY}: config: expected a mapping`, { key: 'config' });
    out.config = Object.fromEntries(
      Object.entries(config).map(([k, v]) => [k, v === null ? null : stringValue(v, `config.${k}`)]),
    );
  }
  if (devices !== undefined) {
    if (devices === null || typeof devices !== 'object' || Array.isArray(devices))
      throw new GuestgateError('E_BAD_REQUEST', `${BODY}: devices: expected a mapping`, { key: 'devices' });
    out.devices = Object.fromEntries(
      Object.entries(devices).map(([n, d]) => [n, d === null ? null : deviceMap(d, `devices.${n}`)]),
    );
  }
  return out;
}

function deviceMap(d: unknown, key: string): Record<string, string> {
  if (d === null || typeof d !== 'object' || Array.isArray(d))
    throw new GuestgateError('E_BAD_REQUEST', `${BODY}: ${key}: expected a mapping`, { key });
  return Object.fromEntries(Object.entries(d).map(([k, v]) => [k, stringValue(v, `${key}.${k}`)]));
}

export const listInstances = (deps: AdminDeps) => (ctx: Context) => {
  ctx.body = deps.instances.list().map((i) => instanceView(i, deps.ready.get(i.key)));
};

export const getInstance = (deps: AdminDeps) => (ctx: Context) =>
  show(ctx, deps, deps.instances.get(instanceKeyOf(ctx)));

export const createInstance = (deps: AdminDeps) => async (ctx: Context) => {
  const i = await deps.instances.create(await body(ctx, deps));
  ctx.set('Location', `/1.0/instances/${i.name}${i.project !== 'default' ? `?project=${i.project}` : ''}`);
  show(ctx, deps, i, 201);
};

export const replaceInstance = (deps: AdminDeps) => async (ctx: Context) => {
  const key = instanceKeyOf(ctx);
  deps.instances.get(key); // 404 before reading the body
  show(ctx, deps, await deps.instances.replace(key, await body(ctx, deps)));
};

export const patchInstance = (deps: AdminDeps) => async (ctx: Context) => {
  const key = instanceKeyOf(ctx);
  deps.instances.get(key);
  show(ctx, deps, await deps.instances.patch(key, toPatch(await body(ctx, deps))));
};

export const deleteInstance = (deps: AdminDeps) => async (ctx: Context) => {
  await deps.instances.delete(instanceKeyOf(ctx));
  ctx.status = 204;
};

/** PUT .../config/<key> with {"value": "..."} (or a raw text/plain body). */
export const putConfigKey = (deps: AdminDeps) => async (ctx: Context) => {
  const key = instanceKeyOf(ctx);
  deps.instances.get(key);
  const text = await readBody(ctx.req, deps.maxBody);
  let value: string;
  if (/^text\/plain/i.test(ctx.get('Content-Type'))) value = text;
  else {
    const doc = parseBody(text, ctx.get('Content-Type'));
    if (doc === null || typeof doc !== 'object' || !('value' in doc))
      throw new GuestgateError('E_BAD_REQUEST', `${BODY}: expected {"value": "..."}`, { key: 'value' });
    value = stringValue((doc as { value: unknown }).value, 'value');
  }
  show(ctx, deps, await deps.instances.setConfig(key, ctx.params.key ?? '', value));
};

export const deleteConfigKey = (deps: AdminDeps) => async (ctx: Context) => {
  show(ctx, deps, await deps.instances.unsetConfig(instanceKeyOf(ctx), ctx.params.key ?? ''));
};

export const putDevice = (deps: AdminDeps) => async (ctx: Context) => {
  const key = instanceKeyOf(ctx);
  deps.instances.get(key);
  const device = ctx.params.device ?? '';
  const d = deviceMap(parseBody(await readBody(ctx.req, deps.maxBody), ctx.get('Content-Type')), `devices.${device}`);
  show(ctx, deps, await deps.instances.patch(key, { devices: { [device]: d } }));
};

export const deleteDevice = (deps: AdminDeps) => async (ctx: Context) => {
  show(ctx, deps, await deps.instances.removeDevice(instanceKeyOf(ctx), ctx.params.device ?? ''));
};
