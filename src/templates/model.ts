// LXD's image-template model: metadata.yaml's `templates:` (guest path -> template file, `when`,
// `create_only`, `properties`), parsed strictly (every problem names the image and the entry).
// Which entries a trigger renders: those whose `when` lists it; unknown triggers never render.
import yaml from 'js-yaml';
import { GuestgateError } from '../errors.ts';
import type { Trigger } from './context.ts';

export interface TemplateEntry {
  /** Target path in the guest, exactly as metadata.yaml writes it (may be relative). */
  readonly path: string;
  /** File name under the image's templates/ folder. */
  readonly template: string;
  readonly when: readonly string[];
  readonly createOnly: boolean;
  readonly properties: Readonly<Record<string, string>>;
}

/** An image's (or a folder's) templates: entries plus template sources by file name. */
export interface TemplateSet {
  /** What the set is, for messages: `image <fingerprint>` or a folder. */
  readonly origin: string;
  readonly entries: readonly TemplateEntry[];
  readonly sources: ReadonlyMap<string, string>;
}

const bad = (origin: string, where: string, problem: string): GuestgateError =>
  new GuestgateError('E_TEMPLATE', `${origin}: metadata.yaml: ${where}: ${problem}`, { image: origin, where, problem });

const scalar = (v: unknown): v is string | number | boolean =>
  typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean';

/** The `templates:` entries of a metadata.yaml text (none when the section is absent), sorted by path. */
export function parseTemplates(text: string, origin: string): TemplateEntry[] {
  let doc: unknown;
  try {
    doc = yaml.load(text, { schema: yaml.CORE_SCHEMA });
  } catch (e) {
    throw bad(origin, 'document', `not valid YAML (${(e as Error).message.split('\n')[0]})`);
  }
  if (doc === null || doc === undefined) return [];
  if (typeof doc !== 'object' || Array.isArray(doc)) throw bad(origin, 'document', 'not a mapping');
  const t = (doc as Record<string, unknown>).templates;
  if (t === undefined || t === null) return [];
  if (typeof t !== 'object' || Array.isArray(t)) throw bad(origin, 'templates', 'expected a mapping of path -> entry');
  return Object.entries(t as Record<string, unknown>)
    .map(([path, e]) => entry(path, e, origin))
    .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

function entry(path: string, e: unknown, origin: string): TemplateEntry {
  const where = `templates.${path}`;
  if (!path) throw bad(origin, 'templates', 'empty target path');
  if (typeof e !== 'object' || e === null || Array.isArray(e)) throw bad(origin, where, 'expected a mapping');
  const o = e as Record<string, unknown>;
  if (typeof o.template !== 'string' || !o.template || o.template.includes('/') || o.template.startsWith('.'))
    throw bad(origin, `${where}.template`, 'expected a file name in templates/ (no "/", not starting with ".")');
  const when = o.when ?? [];
  if (!Array.isArray(when) || !when.every((w) => typeof w === 'string'))
    throw bad(origin, `${where}.when`, 'expected a list of triggers (create, copy, start, rename)');
  const createOnly = o.create_only ?? false;
  if (typeof createOnly !== 'boolean') throw bad(origin, `${where}.create_only`, 'expected true or false');
  const props = o.properties ?? {};
  if (typeof props !== 'object' || props === null || Array.isArray(props))
    throw bad(origin, `${where}.properties`, 'expected a mapping of strings');
  const properties: Record<string, string> = {};
  for (const [k, v] of Object.entries(props)) {
    if (!scalar(v)) throw bad(origin, `${where}.properties.${k}`, 'expected a string');
    properties[k] = String(v);
  }
  return { path, template: o.template, when: when as string[], createOnly, properties };
}

/** Entries rendered for one trigger. */
export const entriesFor = (set: TemplateSet, trigger: Trigger): TemplateEntry[] =>
  set.entries.filter((e) => e.when.includes(trigger));

/**
 * The triggers LXD renders at a start: the one pending trigger (create, copy or rename; recorded
 * at the first of those and never overwritten), then `start`.
 */
export const triggersAtStart = (pending: Trigger | undefined): Trigger[] =>
  pending && pending !== 'start' ? [pending, 'start'] : ['start'];
