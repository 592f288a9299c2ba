// Which template set `guestgate seed` and `guestgate preview` render for an instance: --image FILE
// (an image's unified tarball or metadata tarball: its templates), --templates DIR, the instance's
// own image (volatile.base_image) when guestgate's cache holds it with templates (image-templates.ts:
// through the running gateway, else from the cache folder), the config's nocloud.templates_dir (when
// the config file exists), else guestgate's default set: the daemon's choice, as the NoCloud seed makes it.
import { closeSync, existsSync, openSync, readSync } from 'node:fs';
import { loadConfig } from '../config/load.ts';
import type { Instance } from '../inventory/model.ts';
import { DEFAULT_CONFIG } from './common.ts';
import { SNIFF_BYTES, sniffExtension } from '../images/magic.ts';
import { loadImageTemplates } from '../templates/load-image.ts';
import { configuredTemplateSet, loadTemplateDir } from '../templates/load-dir.ts';
import type { TemplateSet } from '../templates/model.ts';
import { cachedImageTemplates } from './image-templates.ts';

export interface SetOptions {
  image?: string;
  templates?: string;
  config?: string;
  admin?: string;
}

function sniff(file: string): string {
  const fd = openSync(file, 'r');
  try {
    const head = Buffer.alloc(SNIFF_BYTES);
    return sniffExtension(head.subarray(0, readSync(fd, head, 0, SNIFF_BYTES, 0)));
  } finally {
    closeSync(fd);
  }
}

export async function templateSetFor(instance: Instance, o: SetOptions): Promise<TemplateSet> {
  if (o.image) return loadImageTemplates(o.image, sniff(o.image), `image file ${o.image}`);
  if (o.templates) return loadTemplateDir(o.templates);
  const fp = instance.config['volatile.base_image'];
  const own = fp ? await cachedImageTemplates(fp, o) : undefined;
  if (own) return own;
  const file = o.config ?? DEFAULT_CONFIG;
  return configuredTemplateSet(existsSync(file) ? loadConfig(file).nocloud.templates_dir : undefined);
}
