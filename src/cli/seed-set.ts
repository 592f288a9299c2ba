// Which template set `guestgate seed` and `guestgate preview` render: --image FILE (an image's
// unified tarball or metadata tarball: its templates), --templates DIR, the config's
// nocloud.templates_dir (when the config file exists), else guestgate's default set.
import { closeSync, existsSync, openSync, readSync } from 'node:fs';
import { loadConfig } from '../config/load.ts';
import { DEFAULT_CONFIG } from './common.ts';
import { SNIFF_BYTES, sniffExtension } from '../images/magic.ts';
import { loadImageTemplates } from '../templates/load-image.ts';
import { DEFAULT_TEMPLATES_DIR, loadTemplateDir } from '../templates/load-dir.ts';
import type { TemplateSet } from '../templates/model.ts';

export interface SetOptions {
  image?: string;
  templates?: string;
  config?: string;
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

export async function templateSetFrom(o: SetOptions): Promise<TemplateSet> {
  if (o.image) return loadImageTemplates(o.image, sniff(o.image), `image file ${o.image}`);
  if (o.templates) return loadTemplateDir(o.templates);
  const file = o.config ?? DEFAULT_CONFIG;
  const dir = existsSync(file) ? loadConfig(file).nocloud.templates_dir : undefined;
  return dir ? loadTemplateDir(dir) : loadTemplateDir(DEFAULT_TEMPLATES_DIR, 'default templates');
}
