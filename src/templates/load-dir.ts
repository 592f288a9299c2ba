// A template set from a folder laid out like an image's metadata: <dir>/metadata.yaml (its
// `templates:` section) and <dir>/templates/<file>. guestgate's default set is the repo's
// templates/ folder; `nocloud.templates_dir` points at an operator's own.
import { lstatSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GuestgateError } from '../errors.ts';
import { parseTemplates, type TemplateSet } from './model.ts';

export const DEFAULT_TEMPLATES_DIR = fileURLToPath(new URL('../../templates/', import.meta.url));
const MAX_FILE = 1 << 20;

export function loadTemplateDir(dir: string, origin = `templates folder ${dir}`): TemplateSet {
  let meta: string;
  try {
    meta = readFileSync(join(dir, 'metadata.yaml'), 'utf8');
  } catch (e) {
    throw new GuestgateError('E_CONFIG', `${origin}: cannot read metadata.yaml (${(e as Error).message})`, { dir });
  }
  const entries = parseTemplates(meta, origin);
  const sources = new Map<string, string>();
  const tdir = join(dir, 'templates');
  let names: string[];
  try {
    names = readdirSync(tdir);
  } catch (e) {
    throw new GuestgateError('E_CONFIG', `${origin}: cannot read templates/ (${(e as Error).message})`, { dir });
  }
  for (const name of names) {
    const st = lstatSync(join(tdir, name));
    if (!st.isFile() || st.size > MAX_FILE) continue; // symlinks and oversized files count as missing
    sources.set(name, readFileSync(join(tdir, name), 'utf8'));
  }
  return { origin, entries, sources };
}

/** The set for instances whose image has none: `nocloud.templates_dir` when configured, else the default. */
export const configuredTemplateSet = (dir: string | undefined): TemplateSet =>
  dir === undefined
    ? loadTemplateDir(DEFAULT_TEMPLATES_DIR, 'default templates')
    : loadTemplateDir(dir, `nocloud.templates_dir ${dir}`);
