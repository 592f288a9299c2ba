// The image export cache: public surface for the guest API, the admin API and the CLI.
export {
  createImageService,
  defaultCacheDir,
  type ImageService,
  type ImageRef,
  type ImageInfo,
  type ImageStats,
} from './service.ts';
export type { ImagesConfig } from '../config/sections/images.ts';
