// Which template set applies to an instance: its image's (volatile.base_image, when the image is in
// guestgate's cache and its metadata.yaml has a `templates:` section), else the default set
// (`nocloud.templates_dir`, or the repo's templates/ folder).
import { imageMetadataFile, type ImageService } from '../images/index.ts';
import type { Instance } from '../inventory/model.ts';
import { loadImageTemplates } from './load-image.ts';
import type { TemplateSet } from './model.ts';

export async function templateSetFor(
  instance: Instance,
  images: Pick<ImageService, 'list' | 'cacheDir'> | undefined,
  defaults: TemplateSet,
): Promise<TemplateSet> {
  const fp = instance.config['volatile.base_image'];
  if (!fp || !images) return defaults;
  const file = await imageMetadataFile(images, fp);
  if (!file) return defaults;
  const set = await loadImageTemplates(file.path, file.ext, `image ${fp.slice(0, 12)}`);
  return set.entries.length ? set : defaults;
}
