// GET /1.0/meta-data: `instance-id` and `local-hostname`, then user.meta-data appended raw (cloud-init
// 22.4.2 reads user.meta-data only from here; later versions merge it themselves). Rendered from
// templates/guest-meta-data.tpl (loaded once) with the template engine.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Instance } from '../inventory/model.ts';
import { DEFAULT_TEMPLATES_DIR } from '../templates/load-dir.ts';
import { renderString } from '../templates/render.ts';
import { guestgateContext } from './template-context.ts';

const NAME = 'guest-meta-data.tpl';
const source = readFileSync(join(DEFAULT_TEMPLATES_DIR, NAME), 'utf8');

export function renderMetaData(instance: Instance, opts: { header: boolean }): string {
  return renderString(
    source,
    { instance: { name: instance.name }, ...guestgateContext(instance, opts.header) },
    {
      template: NAME,
    },
  );
}
