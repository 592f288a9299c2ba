// The image export cache: public surface for the guest API, the admin API and the CLI.
export { createImageService } from './service.ts';
export { defaultCacheDir } from './store/paths.ts';
export type { ImageService, ImageRef, ImageInfo, ImageStats, ExportOptions } from './types.ts';
export type { ImagesConfig } from '../config/sections/images.ts';
export { imageMetadataFile } from './metadata-file.ts';
