// Where an image's metadata tarball is in the cache (the unified file, or the metadata part of a
// split image), for readers of metadata.yaml and templates/ (src/templates). Undefined when the
// image is not cached.
import { blobPath } from './store/paths.ts';
import type { ImageService } from './types.ts';

export async function imageMetadataFile(
  images: Pick<ImageService, 'list' | 'cacheDir'>,
  fingerprint: string,
): Promise<{ readonly path: string; readonly ext: string } | undefined> {
  const info = (await images.list()).find((i) => i.fingerprint === fingerprint);
  const part = info?.parts.find((p) => p.role === 'unified' || p.role === 'metadata');
  return part ? { path: blobPath(images.cacheDir, part.digest), ext: part.ext } : undefined;
}
