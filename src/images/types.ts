// What the image service offers its callers (guest API, admin API, CLI), as types only.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ImportOptions } from './fill/importer.ts';
import type { StepReport } from './store/maintenance.ts';
import type { StreamPart } from './upstreams/files.ts';
import { manifestSize, type ImageKind, type ImageType, type Manifest } from './store/manifest.ts';

export interface ImageRef {
  readonly fingerprint: string;
  readonly kind: ImageKind | undefined;
  readonly type: ImageType | undefined;
  readonly size: number | undefined;
  readonly public: boolean;
  readonly cached: boolean;
  /** Bytes already in guestgate's cache. */
  readonly inCache: boolean;
  /** "cache" or the upstream's name. */
  readonly source: string;
}

/** What the admin API and CLI list: the manifest's description of an image, plus its total size. */
export type ImageInfo = Omit<Manifest, 'version'> & { readonly size: number };

export interface ImageStats {
  bytes: number;
  images: number;
  hits: number;
  misses: number;
  fills: number;
  fillFailures: number;
  evictions: number;
  upstreamErrors: number;
}

export interface ExportOptions {
  readonly signal: AbortSignal;
  readonly extraHeaders?: Record<string, string>;
}

export interface ImageService {
  lookup(fingerprint: string, mode: 'prefix' | 'exact'): Promise<ImageRef | undefined>;
  serveExport(req: IncomingMessage, res: ServerResponse, image: ImageRef, opts: ExportOptions): Promise<void>;
  list(): Promise<ImageInfo[]>;
  /** Import local files (one unified file, or metadata + rootfs). */
  import(files: readonly string[], opts?: Omit<ImportOptions, 'onBytes'>): Promise<ImageInfo>;
  /** Import bytes streamed in (admin API): parts back to back; verified against `fingerprint`. */
  importStream(
    fingerprint: string,
    source: AsyncIterable<Buffer>,
    parts: readonly StreamPart[],
    opts?: Omit<ImportOptions, 'onBytes'>,
  ): Promise<ImageInfo>;
  /** The one cached image a fingerprint prefix names (E_IMAGE_NOT_FOUND / E_IMAGE_AMBIGUOUS otherwise). */
  resolve(prefix: string): ImageInfo;
  remove(fingerprint: string): Promise<boolean>;
  /** Maintenance on the live index (nothing it serves vanishes behind its back). */
  verify(): Promise<StepReport[]>;
  gc(): Promise<StepReport[]>;
  pin(fingerprint: string, pinned: boolean): Promise<ImageInfo | undefined>;
  stats(): ImageStats;
  /** Why the service is degraded (each image upstream whose last query failed); empty when healthy. */
  health(): string[];
  /** Stopping: new exports are refused; resolves when those in flight ended, or after `timeoutMs` (logs what still runs). */
  drain(timeoutMs: number): Promise<void>;
  readonly cacheDir: string;
  close(): Promise<void>;
}

export const toInfo = (m: Manifest, pinned: boolean): ImageInfo => ({
  fingerprint: m.fingerprint,
  kind: m.kind,
  type: m.type,
  size: manifestSize(m),
  parts: m.parts,
  public: m.public,
  cached: m.cached,
  pinned,
  architecture: m.architecture,
  properties: m.properties,
  last_modified: m.last_modified,
  created_at: m.created_at,
  source: m.source,
});

/** A guest sees an image only when it is public or was cached by a guest's own request. */
export const visible = (x: { public: boolean; cached: boolean }): boolean => x.public || x.cached;
