// Import local image files into the cache: one unified file, or a metadata tarball plus a rootfs
// (squashfs => container, qcow2 => VM, like `lxc image import`). The fingerprint is computed
// first, then the bytes go through the same fill path as a download (and are verified again).
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import type { Catalog } from '../store/catalog.ts';
import { Fill, type FillStore } from './fill.ts';
import { buildManifest } from './manifest-build.ts';
import type { Manifest, PartRole } from '../store/manifest.ts';
import { filesUpstream, streamUpstream, type LocalFile, type StreamPart } from '../upstreams/files.ts';
import type { Upstream } from '../upstreams/types.ts';
import { assertImage, sniff } from '../inspect.ts';

export interface ImportOptions {
  readonly public?: boolean;
  readonly pinned?: boolean;
  /** Called with byte counts as work progresses (two passes: hash, then copy). */
  readonly onBytes?: (n: number) => void;
}

export async function partsFor(files: readonly string[]): Promise<LocalFile[]> {
  if (files.length === 1) return [{ path: files[0]!, role: 'unified' }];
  if (files.length !== 2) throw new Error('expected one unified image file, or a metadata tarball and a rootfs');
  const rootRole: PartRole = (await sniff(files[1]!)) === '.qcow2' ? 'rootfs.img' : 'rootfs';
  return [
    { path: files[0]!, role: 'metadata' },
    { path: files[1]!, role: rootRole },
  ];
}

export async function importImage(
  store: FillStore,
  catalog: Catalog,
  files: readonly string[],
  o: ImportOptions = {},
): Promise<Manifest> {
  const parts = await partsFor(files);
  await assertImage(parts, 'E_BAD_REQUEST');
  const h = createHash('sha256');
  for (const p of parts)
    for await (const c of createReadStream(p.path, { highWaterMark: 1024 * 1024 })) {
      h.update(c as Buffer);
      o.onBytes?.((c as Buffer).length);
    }
  return fillFrom(store, catalog, h.digest('hex'), filesUpstream(parts, o.onBytes), o);
}

/** Import bytes that arrive as one stream (the admin API): the sender names the fingerprint, the fill verifies it. */
export function importStream(
  store: FillStore,
  catalog: Catalog,
  fingerprint: string,
  source: AsyncIterable<Buffer>,
  parts: readonly StreamPart[],
  o: ImportOptions = {},
): Promise<Manifest> {
  return fillFrom(store, catalog, fingerprint, streamUpstream(source, parts), o);
}

async function fillFrom(
  store: FillStore,
  catalog: Catalog,
  fingerprint: string,
  upstream: Upstream,
  o: ImportOptions,
): Promise<Manifest> {
  const fill = new Fill(fingerprint, store);
  const image = { fingerprint, public: o.public ?? true, cached: false };
  let manifest: Manifest | undefined;
  await fill.run([{ upstream, image }], async (r) => {
    manifest = await buildManifest(store.cacheDir, fingerprint, r, fill.lastModified, { pinned: o.pinned ?? false });
    await catalog.add(manifest);
  });
  return manifest!;
}
