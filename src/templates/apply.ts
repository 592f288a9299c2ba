// Renders a template set for an instance and a trigger: one file per entry whose `when` lists the
// trigger, each checked for a missing template before anything is written (as LXD does), each
// error naming the image, the template, the line and column. Pure. With `trace` (names for the
// extra context's maps; may be empty), each file also says which keys produced which line.
import type { Instance } from '../inventory/model.ts';
import { GuestgateError } from '../errors.ts';
import { templateContext, traceRoots, type Trigger } from './context.ts';
import { entriesFor, type TemplateEntry, type TemplateSet } from './model.ts';
import { renderString, renderTraced } from './render.ts';
import type { LineKeys, TraceRoots } from './trace.ts';
import type { VMap } from './values.ts';

export interface RenderedFile {
  readonly path: string;
  readonly template: string;
  readonly trigger: Trigger;
  readonly createOnly: boolean;
  readonly content: string;
  /** Per line, the keys behind it (traced renderings only; lines from plain text are left out). */
  readonly lines?: readonly LineKeys[];
}

export function renderEntry(
  set: TemplateSet,
  e: TemplateEntry,
  instance: Instance,
  trigger: Trigger,
  extra: VMap = {},
  trace?: TraceRoots['maps'],
): RenderedFile {
  const source = set.sources.get(e.template);
  if (source === undefined)
    throw new GuestgateError('E_TEMPLATE', `${set.origin}: template ${e.template} (for ${e.path}) is missing`, {
      image: set.origin,
      template: e.template,
    });
  const ctx = { ...extra, ...templateContext(instance, trigger, e.path, e.properties) };
  const origin = { image: set.origin, template: e.template };
  const file = { path: e.path, template: e.template, trigger, createOnly: e.createOnly };
  if (!trace) return { ...file, content: renderString(source, ctx, origin) };
  const { output, lines } = renderTraced(source, ctx, traceRoots(ctx, trace), origin);
  return { ...file, content: output, lines };
}

/** Every file the trigger renders, in path order. */
export function renderTrigger(
  set: TemplateSet,
  instance: Instance,
  trigger: Trigger,
  extra: VMap = {},
  trace?: TraceRoots['maps'],
): RenderedFile[] {
  return entriesFor(set, trigger).map((e) => renderEntry(set, e, instance, trigger, extra, trace));
}
