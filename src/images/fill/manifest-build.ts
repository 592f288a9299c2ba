// Turns a verified fill into a manifest: flags from the upstream, properties from metadata.yaml.
import type { FillResult } from './fill.ts';
import { wholeSeconds, type Manifest, type ImageType } from '../store/manifest.ts';
import { readImageMetadata } from './metadata.ts';
import { blobPath } from '../store/paths.ts';

export async function buildManifest(
  cacheDir: string,
  fingerprint: string,
  r: FillResult,
  lastModified: Date,
  extra: { pinned?: boolean } = {},
): Promise<Manifest> {
  const first = r.parts[0]!;
  const meta = await readImageMetadata(blobPath(cacheDir, first.digest), first.ext, r.kind === 'unified').catch(
    () => undefined,
  );
  const type: ImageType =
    r.kind === 'unified' ? (meta?.rootfs === 'rootfs.img' ? 'virtual-machine' : (r.image.type ?? 'container')) : r.type;
  const upstreamProps = r.image.properties ?? {};
  return {
    version: 1,
    fingerprint,
    kind: r.kind,
    type,
    parts: r.parts,
    public: r.image.public,
    cached: r.image.cached,
    pinned: extra.pinned ?? false,
    architecture: r.image.architecture || meta?.architecture || '',
    // The upstream's own record wins (LXD keeps edited properties in its database).
    properties: Object.keys(upstreamProps).length ? { ...upstreamProps } : { ...(meta?.properties ?? {}) },
    last_modified: wholeSeconds(lastModified).toISOString(),
    created_at: new Date().toISOString(),
    source: r.upstream,
  };
}
