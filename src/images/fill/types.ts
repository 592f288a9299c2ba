// What a fill writes into and what it yields.
import type { StoreModes, LiveTmp } from '../store/blobs.ts';
import type { ImageKind, ImageType, ManifestPart } from '../store/manifest.ts';
import type { UpstreamImage } from '../upstreams/types.ts';

export type FillState = 'running' | 'verified' | 'failed';

export interface FillResult {
  readonly kind: ImageKind;
  readonly type: ImageType;
  readonly parts: readonly ManifestPart[];
  readonly upstream: string;
  readonly image: UpstreamImage;
}

/** Where a fill writes: the cache folder and the modes of what it creates there. */
export interface FillStore {
  readonly cacheDir: string;
  readonly modes: StoreModes;
  /** A running service's register of tmp files in use (absent offline, where the lock excludes others). */
  readonly live?: LiveTmp;
}
