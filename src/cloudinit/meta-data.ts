// GET /1.0/meta-data: `instance-id` and `local-hostname`, then user.meta-data appended raw (cloud-init
// 22.4.2 reads user.meta-data only from here; later versions merge it themselves).
import type { Instance } from '../inventory/model.ts';
import { cloudInitInstanceId } from './keys.ts';
import { loadTemplate } from './template.ts';

const template = loadTemplate('meta-data.tmpl');

export function renderMetaData(instance: Instance, opts: { header: boolean }): string {
  return template({
    header: opts.header ? '#cloud-config\n' : '',
    instance_id: cloudInitInstanceId(instance),
    hostname: instance.name,
    user_meta_data: instance.config['user.meta-data'] ?? '',
  });
}
