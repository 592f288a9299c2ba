// Which template set applies to an instance: its image's (volatile.base_image, when the image is in
// guestgate's cache and its metadata.yaml has a `templates:` section), else the default set
// (`nocloud.templates_dir`, or the repo's templates/ folder). Image sets are read once per
// fingerprint (images never change under a fingerprint) and kept for the last 64 images.
import { imageMetadataFile, type ImageService } from '../images/index.ts';
import type { Instance } from '../inventory/model.ts';
import { loadImageTemplates } from './load-image.ts';
import type { TemplateSet } from './model.ts';

type Images = Pick<ImageService, 'list' | 'cacheDir'>;
const KEEP = 64;

async function imageSet(images: Images, fp: string): Promise<TemplateSet | undefined> {
  const file = await imageMetadataFile(images, fp);
  if (!file) return undefined;
  const set = await loadImageTemplates(file.path, file.ext, `image ${fp.slice(0, 12)}`);
  return set.entries.length ? set : undefined;
}

export async function templateSetFor(
  instance: Instance,
  images: Images | undefined,
  defaults: TemplateSet,
): Promise<TemplateSet> {
  const fp = instance.config['volatile.base_image'];
  if (!fp || !images) return defaults;
  return (await imageSet(images, fp)) ?? defaults;
}

/** templateSetFor with the image sets remembered per fingerprint (an image not cached yet is asked again). */
export class TemplateSets {
  readonly #images: Images | undefined;
  readonly #defaults: TemplateSet;
  readonly #byImage = new Map<string, Promise<TemplateSet | undefined>>();
  constructor(images: Images | undefined, defaults: TemplateSet) {
    this.#images = images;
    this.#defaults = defaults;
  }
  async for(instance: Instance): Promise<TemplateSet> {
    const fp = instance.config['volatile.base_image'];
    if (!fp || !this.#images) return this.#defaults;
    let p = this.#byImage.get(fp);
    if (!p) {
      p = imageSet(this.#images, fp);
      this.#byImage.set(fp, p);
      if (this.#byImage.size > KEEP) this.#byImage.delete(this.#byImage.keys().next().value!);
    }
    const set = await p.catch((e: unknown) => {
      this.#byImage.delete(fp);
      throw e;
    });
    if (!set) this.#byImage.delete(fp);
    return set ?? this.#defaults;
  }
}
