// NoCloud seed files rendered through a template set for a trigger: a rendered target in a
// cloud-init seed folder (/var/lib/cloud/seed/nocloud[-net]/<file>) gives that file; a file no
// template renders falls back to guestgate's own (seed.ts). Pure.
import { posix } from 'node:path';
import type { Instance } from '../inventory/model.ts';
import { type RenderedFile, renderTrigger } from '../templates/apply.ts';
import type { Trigger } from '../templates/context.ts';
import type { TemplateSet } from '../templates/model.ts';
import { isNoCloudFile, NOCLOUD_FILES, type NoCloudFile, noCloudFile } from './seed.ts';
import { guestgateContext, guestgateTrace } from './template-context.ts';
import type { LineKeys } from '../templates/trace.ts';

const SEED_DIRS = new Set(['/var/lib/cloud/seed/nocloud', '/var/lib/cloud/seed/nocloud-net']);

export interface TemplatedSeed {
  readonly files: Record<NoCloudFile, string>;
  /** Which template gave each file ("" when guestgate's own content was used). */
  readonly from: Record<NoCloudFile, string>;
  readonly rendered: readonly RenderedFile[];
  /** Per line of a templated file, the keys behind it (traced seeds only). */
  readonly lines: Partial<Record<NoCloudFile, readonly LineKeys[]>>;
}

/** Every file a trigger renders, with guestgate's values in context. */
export function renderSet(set: TemplateSet, instance: Instance, trigger: Trigger, trace = false): RenderedFile[] {
  const extra = guestgateContext(instance);
  return renderTrigger(set, instance, trigger, extra, trace ? guestgateTrace(instance, extra) : undefined);
}

/** The seed files for a trigger; `trace`: with the keys behind each templated line (for the preview). */
export function templatedSeed(set: TemplateSet, instance: Instance, trigger: Trigger, trace = false): TemplatedSeed {
  const rendered = renderSet(set, instance, trigger, trace);
  const lines: TemplatedSeed['lines'] = {};
  const files = {} as Record<NoCloudFile, string>;
  const from = {} as Record<NoCloudFile, string>;
  for (const f of NOCLOUD_FILES) {
    files[f] = noCloudFile(instance, f);
    from[f] = '';
  }
  for (const r of rendered) {
    const abs = posix.join('/', r.path);
    const base = posix.basename(abs);
    if (SEED_DIRS.has(posix.dirname(abs)) && isNoCloudFile(base)) {
      files[base] = r.content;
      from[base] = `${set.origin}: ${r.template}`;
      if (r.lines) lines[base] = r.lines;
    }
  }
  return { files, from, rendered, lines };
}
