// A template set as JSON (the admin API's GET /1.0/images/<fp>/templates, read by the CLI): entries
// as metadata.yaml spells them (create_only) and sources by file name. Decoding checks every field,
// naming what is wrong.
import { GuestgateError } from '../errors.ts';
import type { TemplateEntry, TemplateSet } from './model.ts';

export interface WireEntry {
  readonly path: string;
  readonly template: string;
  readonly when: readonly string[];
  readonly create_only: boolean;
  readonly properties: Readonly<Record<string, string>>;
}

export interface WireSet {
  readonly origin: string;
  readonly entries: readonly WireEntry[];
  readonly sources: Readonly<Record<string, string>>;
}

export const toWire = (set: TemplateSet): WireSet => ({
  origin: set.origin,
  entries: set.entries.map((e) => ({
    path: e.path,
    template: e.template,
    when: e.when,
    create_only: e.createOnly,
    properties: e.properties,
  })),
  sources: Object.fromEntries(set.sources),
});

const isStr = (v: unknown): v is string => typeof v === 'string';
const isStrMap = (v: unknown): v is Record<string, string> =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && Object.values(v).every(isStr);

export function fromWire(v: unknown, what: string): TemplateSet {
  const bad = (field: string): never => {
    throw new GuestgateError('E_TEMPLATE', `${what}: template set: ${field} is missing or malformed`, { field });
  };
  const o = (typeof v === 'object' && v !== null ? v : bad('document')) as Partial<WireSet>;
  if (!isStr(o.origin)) bad('origin');
  if (!Array.isArray(o.entries)) bad('entries');
  if (!isStrMap(o.sources)) bad('sources');
  const entries = o.entries!.map((e: Partial<WireEntry>, i): TemplateEntry => {
    if (!isStr(e?.path) || !isStr(e.template)) bad(`entries[${i}].path/template`);
    if (!Array.isArray(e.when) || !e.when.every(isStr)) bad(`entries[${i}].when`);
    if (typeof e.create_only !== 'boolean') bad(`entries[${i}].create_only`);
    if (!isStrMap(e.properties)) bad(`entries[${i}].properties`);
    return {
      path: e.path!,
      template: e.template!,
      when: e.when!,
      createOnly: e.create_only!,
      properties: e.properties!,
    };
  });
  return { origin: o.origin!, entries, sources: new Map(Object.entries(o.sources!)) };
}
