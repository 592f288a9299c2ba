// "What will this guest see", from one instance record: the guest API view (config keys, meta-data,
// devices) in a dialect, the NoCloud files with where each came from (a template, or the config key
// guestgate took), and every image template rendered for a trigger with its target path; for each
// file, per line, the keys that produced it (config keys, properties.*, instance.*, devices.*). Pure.
import type { Instance } from '../inventory/model.ts';
import type { Trigger } from '../templates/context.ts';
import type { TemplateSet } from '../templates/model.ts';
import type { LineKeys } from '../templates/trace.ts';
import { guestConfigKeys } from './keys.ts';
import { renderMetaData } from './meta-data.ts';
import { NOCLOUD_FILES, type NoCloudFile } from './seed.ts';
import { templatedSeed } from './seed-templates.ts';

export interface Preview {
  readonly instance: string;
  readonly dialect: string;
  readonly trigger: Trigger;
  readonly guest_api: {
    readonly config: Record<string, string>;
    readonly meta_data: string;
    readonly devices: Instance['devices'];
  };
  readonly nocloud: Record<NoCloudFile, { content: string; from: string; lines: readonly LineKeys[] }>;
  readonly templates: {
    origin: string;
    files: { path: string; template: string; create_only: boolean; content: string; lines: readonly LineKeys[] }[];
  };
}

/** The config key (or derivation) guestgate's own NoCloud file comes from. */
function ownSource(i: Instance, f: NoCloudFile): string {
  const c = i.config;
  if (f === 'meta-data')
    return `instance-id (${c['volatile.cloud-init.instance-id'] ? 'volatile.cloud-init.instance-id' : 'name'}), local-hostname (name)${c['user.meta-data'] ? ', user.meta-data' : ''}`;
  const key = [`cloud-init.${f}`, `user.${f}`].find((k) => c[k]);
  if (key) return key;
  return f === 'network-config' ? 'NIC devices (default)' : '(unset: empty)';
}

/** Every line of a file guestgate took whole from one config key. */
function wholeFrom(content: string, from: string, instance: Instance): LineKeys[] {
  if (!instance.config[from]) return [];
  const n = content.split('\n').length - (content.endsWith('\n') ? 1 : 0);
  return Array.from({ length: content ? n : 0 }, (_, i) => ({ line: i + 1, keys: [from] }));
}

export function buildPreview(instance: Instance, set: TemplateSet, trigger: Trigger, dialect: string): Preview {
  const seed = templatedSeed(set, instance, trigger, true);
  const nocloud = {} as Preview['nocloud'];
  for (const f of NOCLOUD_FILES) {
    const from = seed.from[f] || ownSource(instance, f);
    const lines = seed.lines[f] ?? wholeFrom(seed.files[f], from, instance);
    nocloud[f] = { content: seed.files[f], from, lines };
  }
  return {
    instance: instance.key,
    dialect,
    trigger,
    guest_api: {
      config: Object.fromEntries(guestConfigKeys(instance.config).map((k) => [k, instance.config[k]!])),
      // Debian's LXD 5.0.2 and Incus start meta-data with "#cloud-config"; LXD 6 does not.
      meta_data: renderMetaData(instance, { header: dialect !== 'lxd' }),
      devices: instance.devices,
    },
    nocloud,
    templates: {
      origin: set.origin,
      files: seed.rendered.map((r) => ({
        path: r.path,
        template: r.template,
        create_only: r.createOnly,
        content: r.content,
        lines: r.lines ?? [],
      })),
    },
  };
}
