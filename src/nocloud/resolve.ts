// Which instance a NoCloud request is for, and which file (pure but for the inventory lookups):
//   /<file>                   by source address (identify_by: address)
//   /nocloud/<token>/<file>   by capability token (identify_by: token)
// Any prefix before the file is allowed in address mode, so seed URLs may carry a path.
import type { Instance } from '../inventory/model.ts';
import { isNoCloudFile, type NoCloudFile } from '../cloudinit/seed.ts';

export interface Lookup {
  byAddress(address: string): Instance | undefined;
  byToken(token: string): Instance | undefined;
}

export type Resolution =
  | { readonly ok: true; readonly instance: Instance; readonly file: NoCloudFile; readonly by: 'address' | 'token' }
  | { readonly ok: false; readonly status: 403 | 404; readonly reason: string; readonly file?: string };

/** Proxy headers: a request that went through a proxy has lost its real source address. */
export const FORWARDING_HEADERS = [
  'forwarded',
  'x-forwarded-for',
  'x-forwarded-host',
  'x-forwarded-proto',
  'x-real-ip',
  'x-client-ip',
  'client-ip',
  'true-client-ip',
  'via',
];

export function resolveNoCloud(
  path: string,
  remoteAddress: string,
  modes: readonly string[],
  lookup: Lookup,
): Resolution {
  const segs = path.split('/').filter((s) => s !== '');
  const file = segs[segs.length - 1] ?? '';
  if (!isNoCloudFile(file))
    return {
      ok: false,
      status: 404,
      reason: 'not a NoCloud file (meta-data, user-data, vendor-data, network-config)',
      file,
    };
  if (segs.length === 3 && segs[0] === 'nocloud') {
    if (!modes.includes('token')) return { ok: false, status: 404, reason: 'token URLs are not enabled', file };
    const instance = lookup.byToken(segs[1]!);
    return instance
      ? { ok: true, instance, file, by: 'token' }
      : { ok: false, status: 403, reason: 'unknown token', file };
  }
  if (!modes.includes('address'))
    return { ok: false, status: 404, reason: 'identification by address is not enabled; use /nocloud/<token>/', file };
  const instance = lookup.byAddress(remoteAddress);
  return instance
    ? { ok: true, instance, file, by: 'address' }
    : { ok: false, status: 403, reason: 'source address belongs to no instance', file };
}
