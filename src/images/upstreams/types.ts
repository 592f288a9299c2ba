// What the cache needs from a place that has images: find by fingerprint prefix, then push the
// bytes part by part into a sink (which hashes and stores them). Push, not pull, because a
// multipart response delivers both parts from one stream.
import type { ImageKind, ImageType, PartRole } from '../store/manifest.ts';
import type { ChangeFeed } from './changes.ts';

export interface UpstreamImage {
  readonly fingerprint: string;
  readonly public: boolean;
  readonly cached: boolean;
  readonly kind?: ImageKind;
  readonly type?: ImageType;
  /** Total bytes, when the upstream knows it. */
  readonly size?: number;
  readonly lastModified?: Date;
  readonly architecture?: string;
  readonly properties?: Readonly<Record<string, string>>;
}

export interface PartSink {
  /**
   * The upstream's own Last-Modified for this image, as its guests get it (LXD/Incus: the export's header,
   * the image file's mtime); before the first part. Without it the image record's date stands.
   */
  dated?(when: Date): void;
  /** `size`: exact byte count if known (lets a unified export start before the fill ends). */
  startPart(role: PartRole, size?: number): Promise<void>;
  write(chunk: Buffer): Promise<void>;
  /** `expect`: the part's own sha256 as the upstream states it (checked by the fill's hashers, E_INTEGRITY naming `what`). */
  endPart(expect?: PartDigest): Promise<void>;
}

export interface PartDigest {
  readonly sha256: string;
  /** Names the part in the error, e.g. "upstream <name>: <path>". */
  readonly what: string;
}

export interface Upstream {
  /** For logs, manifests and errors: "<type>:<where>". */
  readonly name: string;
  /** Images whose fingerprint starts with `prefix` (a full fingerprint gives at most one). */
  find(prefix: string, signal?: AbortSignal): Promise<UpstreamImage[]>;
  /** Push the image's bytes into the sink. Resolves when the last part ended. */
  fetch(image: UpstreamImage, sink: PartSink, signal: AbortSignal): Promise<void>;
  /** The server's own change events (LXD/Incus): answers are reused until a change; others use a short TTL. */
  readonly changes?: ChangeFeed;
  close?(): Promise<void>;
}

/** Copy an async byte source into the sink, with backpressure (each write awaited). */
export async function pump(source: AsyncIterable<Buffer>, sink: PartSink): Promise<number> {
  let n = 0;
  for await (const chunk of source) {
    n += chunk.length;
    await sink.write(chunk);
  }
  return n;
}
