// The `guestgate.*` values templates may use beside LXD's context: the NoCloud files as guestgate
// computes them (so the default template set renders exactly guestgate's own files) and the
// guest API meta-data parts. Pure.
import type { Instance } from '../inventory/model.ts';
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
