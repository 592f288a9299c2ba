// The `guestgate.*` values templates may use beside LXD's context: the NoCloud files as guestgate
// computes them (so the default template set renders exactly guestgate's own files) and the
// guest API meta-data parts. Pure.
import type { Instance } from '../inventory/model.ts';
import type { TraceRoots } from '../templates/trace.ts';
import type { VMap } from '../templates/values.ts';
import { cloudInitInstanceId } from './keys.ts';
import { noCloudFile } from './seed.ts';

export function guestgateContext(instance: Instance, header = false): VMap {
  return {
    guestgate: {
      meta_data: noCloudFile(instance, 'meta-data'),
      user_data: noCloudFile(instance, 'user-data'),
      vendor_data: noCloudFile(instance, 'vendor-data'),
      network_config: noCloudFile(instance, 'network-config'),
      instance_id: cloudInitInstanceId(instance),
      user_meta_data: instance.config['user.meta-data'] ?? '',
      header,
    },
  };
}

const firstSet = (i: Instance, keys: readonly string[]): string[] => keys.filter((k) => i.config[k]).slice(0, 1);

/** The config keys (or instance values) each `guestgate.*` value comes from, for per-line attribution. */
function guestgateKeys(i: Instance, key: string): readonly string[] {
  const id = firstSet(i, ['volatile.cloud-init.instance-id']);
  const either = (f: string) => firstSet(i, [`cloud-init.${f}`, `user.${f}`]);
  switch (key) {
    case 'meta_data':
      return [...(id.length ? id : ['instance.name']), 'instance.name', ...firstSet(i, ['user.meta-data'])].filter(
        (k, n, a) => a.indexOf(k) === n,
      );
    case 'instance_id':
      return id.length ? id : ['instance.name'];
    case 'user_meta_data':
      return ['user.meta-data'];
    case 'user_data':
    case 'vendor_data': {
      const f = key.replace('_', '-');
      const k = either(f);
      return k.length ? k : [`cloud-init.${f}`, `user.${f}`];
    }
    case 'network_config': {
      const k = either('network-config');
      return k.length ? k : ['devices'];
    }
    default:
      return [`guestgate.${key}`];
  }
}

/** Names for the maps of a guestgateContext() result (same object), for traced renderings. */
export const guestgateTrace = (instance: Instance, ctx: VMap): TraceRoots['maps'] =>
  new Map([[ctx.guestgate as object, (k: string) => guestgateKeys(instance, k)]]);
