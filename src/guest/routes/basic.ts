// GET /, GET /1.0/config, GET /1.0/config/{key}, GET /1.0/devices, GET /1.0/meta-data.
import type { Context } from 'koa';
import { GuestgateError } from '../../errors.ts';
import type { Resolved } from '../../inventory/inventory.ts';
import { guestConfigKeys, isGuestVisibleKey } from '../../cloudinit/keys.ts';
import { renderMetaData } from '../../cloudinit/meta-data.ts';
import { goJson, sortKeys } from '../../util/gojson.ts';
import { rendered } from '../render-cache.ts';
import type { GuestDeps } from '../deps.ts';
import { sendJson, sendJsonBody, sendRaw } from '../respond.ts';

export const getRoot = (ctx: Context): void => sendJson(ctx, ['/1.0']);

const json = (v: unknown): string => goJson(v, { escapeHTML: false });

export const getConfig = (ctx: Context, r: Resolved): void =>
  sendJsonBody(
    ctx,
    rendered(r.instance, 'config', () => json(guestConfigKeys(r.instance.config).map((k) => `/1.0/config/${k}`))),
  );

export function getConfigKey(deps: GuestDeps) {
  return (ctx: Context, r: Resolved): void => {
    const key = pathUnescape(ctx.path.slice('/1.0/config/'.length));
    if (!isGuestVisibleKey(key)) throw new GuestgateError('E_FORBIDDEN', 'key not exposed to guests', { key });
    const value = r.instance.config[key];
    if (!value) throw new GuestgateError('E_NOT_FOUND', 'no such key', { key });
    sendRaw(ctx, deps.dialect.rawContentType, value);
  };
}

export const getDevices = (ctx: Context, r: Resolved): void =>
  sendJsonBody(
    ctx,
    rendered(r.instance, 'devices', () => json(guestDevices(r.instance.devices, r.instance.config))),
  );

export function getMetaData(deps: GuestDeps) {
  return (ctx: Context, r: Resolved): void =>
    sendRaw(
      ctx,
      deps.dialect.rawContentType,
      rendered(r.instance, 'meta-data', () => renderMetaData(r.instance, { header: deps.dialect.metaDataHeader })),
    );
}

/** Expanded devices, sorted, with NIC hwaddr filled from volatile.<dev>.hwaddr when unset. */
export function guestDevices(
  devices: Readonly<Record<string, Readonly<Record<string, string>>>>,
  config: Readonly<Record<string, string>>,
): Record<string, Record<string, string>> {
  const out: Record<string, Record<string, string>> = {};
  for (const name of Object.keys(devices).sort()) {
    const d = { ...devices[name]! };
    const hw = config[`volatile.${name}.hwaddr`];
    if (d.type === 'nic' && !d.hwaddr && hw) d.hwaddr = hw;
    out[name] = sortKeys(d);
  }
  return out;
}

/** Go's url.PathUnescape: %XX decoding, a bad escape is 400 `bad request`. */
export function pathUnescape(s: string): string {
  if (!s.includes('%')) return s;
  if (/%(?![0-9A-Fa-f]{2})/.test(s)) throw new GuestgateError('E_BAD_REQUEST', 'bad percent-escape', { path: s });
  return Buffer.from(
    s.replace(/%([0-9A-Fa-f]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16))),
    'latin1',
  ).toString('utf8');
}
