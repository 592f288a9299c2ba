// Where `seed` and `preview` find an instance's own image templates (its volatile.base_image) when
// no --image or --templates is given, chosen as `images ls` chooses: a running gateway (the cache's
// one writer) is asked (GET /1.0/images/<fp>/templates); when none answers, the cache folder is
// read directly: the image's manifest, then its metadata blob. Reading takes no lock (only writers
// do: the cache's lock keeps out a second writer, not readers). Undefined when the image is not
// cached or carries no templates: the caller then uses the configured or default set.
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { isGuestgateError } from '../errors.ts';
import { isDigest } from '../images/fingerprint.ts';
import { decodeManifest } from '../images/store/manifest.ts';
import { blobPath, manifestPath } from '../images/store/paths.ts';
import { loadImageTemplates } from '../templates/load-image.ts';
import type { TemplateSet } from '../templates/model.ts';
import { fromWire } from '../templates/wire.ts';
import { cacheSettings, runningGateway } from './cache-access.ts';
import type { AdminClient } from './client.ts';
import { DEFAULT_CONFIG } from './common.ts';

export interface CacheLookup {
  /** Admin socket of the gateway (--admin); else $GUESTGATE_ADMIN; else the config's. */
  readonly admin?: string | undefined;
  readonly config?: string | undefined;
}

async function online(c: AdminClient, fp: string): Promise<TemplateSet | undefined> {
  try {
    return fromWire(await c.call('GET', `/1.0/images/${fp}/templates`), `gateway at ${c.socket}`);
  } catch (e) {
    if (isGuestgateError(e, 'E_IMAGE_NOT_FOUND')) return undefined;
    throw e;
  }
}

async function offline(cacheDir: string, fp: string): Promise<TemplateSet | undefined> {
  let text: string;
  try {
    text = await readFile(manifestPath(cacheDir, fp), 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  const part = decodeManifest(text, fp).parts.find((p) => p.role === 'unified' || p.role === 'metadata');
  if (!part) return undefined;
  return loadImageTemplates(blobPath(cacheDir, part.digest), part.ext, `image ${fp.slice(0, 12)}`);
}

/** The cached image's template set, or undefined (not cached, or no templates in it). */
export async function cachedImageTemplates(fp: string, o: CacheLookup): Promise<TemplateSet | undefined> {
  if (!isDigest(fp)) return undefined;
  const file = o.config ?? DEFAULT_CONFIG;
  const settings = existsSync(file) ? cacheSettings(file) : undefined;
  const explicit = o.admin ?? process.env.GUESTGATE_ADMIN;
  const gw =
    explicit || settings ? await runningGateway({ adminSocket: explicit ?? settings?.adminSocket }) : undefined;
  const set = gw ? await online(gw, fp) : settings ? await offline(settings.cacheDir, fp) : undefined;
  return set?.entries.length ? set : undefined;
}
