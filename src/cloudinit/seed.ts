// The NoCloud seed files of an instance (HTTP seed and cidata disk alike). Pure. Same content as the
// guest API: cloud-init.* wins over user.*; meta-data is instance-id + local-hostname with
// user.meta-data MERGED in (one valid YAML mapping, user keys last-wins as PyYAML reads LXD's
// appended text), never raw-appended, so duplicate keys cannot break strict YAML readers.
import yaml from 'js-yaml';
import type { Instance } from '../inventory/model.ts';
import { cloudInitInstanceId } from './keys.ts';
import { networkConfig } from './network-config.ts';

export const NOCLOUD_FILES = ['meta-data', 'user-data', 'vendor-data', 'network-config'] as const;
export type NoCloudFile = (typeof NOCLOUD_FILES)[number];

export const isNoCloudFile = (s: string): s is NoCloudFile => (NOCLOUD_FILES as readonly string[]).includes(s);

export interface MetaData {
  readonly text: string;
  /** Set when user.meta-data could not be merged (not a YAML mapping); it was left out. */
  readonly warning?: string;
}

export function noCloudMetaData(instance: Instance): MetaData {
  const base: Record<string, unknown> = {
    'instance-id': cloudInitInstanceId(instance),
    'local-hostname': instance.name,
  };
  const raw = instance.config['user.meta-data'];
  let warning: string | undefined;
  if (raw) {
    try {
      const extra = yaml.load(raw, { schema: yaml.CORE_SCHEMA });
      if (extra !== null && extra !== undefined) {
        if (typeof extra !== 'object' || Array.isArray(extra))
          warning = 'user.meta-data is not a YAML mapping; left out of meta-data';
        else Object.assign(base, extra);
      }
    } catch (e) {
      warning = `user.meta-data is not valid YAML (${(e as Error).message.split('\n')[0]}); left out of meta-data`;
    }
  }
  const text = yaml.dump(base, { lineWidth: -1, noRefs: true, schema: yaml.CORE_SCHEMA });
  return warning ? { text, warning } : { text };
}

const pick = (instance: Instance, what: 'user-data' | 'vendor-data'): string =>
  instance.config[`cloud-init.${what}`] || instance.config[`user.${what}`] || '';

/** One seed file. Optional files are "" when unset (served as empty 200s: no 10 s retry stalls). */
export function noCloudFile(instance: Instance, file: NoCloudFile): string {
  switch (file) {
    case 'meta-data':
      return noCloudMetaData(instance).text;
    case 'user-data':
    case 'vendor-data':
      return pick(instance, file);
    case 'network-config':
      return networkConfig(instance);
  }
}

export function noCloudFiles(instance: Instance): Record<NoCloudFile, string> {
  return Object.fromEntries(NOCLOUD_FILES.map((f) => [f, noCloudFile(instance, f)])) as Record<NoCloudFile, string>;
}
