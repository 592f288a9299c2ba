// simplestreams products -> image fingerprints, as LXD's shared/simplestreams does it. Pure.
// A metadata item (ftype lxd.tar.xz / incus.tar.xz) carries one combined hash per rootfs it
// pairs with: sha256(metadata bytes ++ rootfs bytes), which is the split image's fingerprint.
import type { ImageType, PartRole } from '../store/manifest.ts';
import { isDigest } from '../fingerprint.ts';

export interface StreamFile {
  readonly path: string;
  readonly size?: number;
  readonly sha256?: string;
}

export interface StreamImage {
  readonly fingerprint: string;
  readonly type: ImageType;
  /** In export order: unified, or metadata then rootfs/rootfs.img. */
  readonly files: readonly (StreamFile & { readonly role: PartRole })[];
  readonly properties: Record<string, string>;
  readonly architecture: string;
}

interface Item {
  ftype?: unknown;
  path?: unknown;
  size?: unknown;
  sha256?: unknown;
  [k: string]: unknown;
}

/** Combined-hash key on the metadata item -> the ftype of the rootfs item it pairs with. */
const PAIRS: readonly [string, readonly string[], PartRole][] = [
  ['combined_squashfs_sha256', ['squashfs'], 'rootfs'],
  ['combined_rootxz_sha256', ['root.tar.xz'], 'rootfs'],
  ['combined_sha256', ['root.tar.xz'], 'rootfs'],
  ['combined_disk-kvm-img_sha256', ['disk-kvm.img', 'disk1.img'], 'rootfs.img'],
  ['combined_uefi1-img_sha256', ['uefi1.img'], 'rootfs.img'],
  ['combined_disk1-img_sha256', ['disk1.img'], 'rootfs.img'],
];

const file = (i: Item): StreamFile | undefined =>
  typeof i.path === 'string' && i.path !== ''
    ? {
        path: i.path,
        ...(typeof i.size === 'number' ? { size: i.size } : {}),
        ...(typeof i.sha256 === 'string' ? { sha256: i.sha256 } : {}),
      }
    : undefined;

/** Every image in a products:1.0 document, keyed by fingerprint (first one wins). */
export function imagesFromProducts(doc: unknown): Map<string, StreamImage> {
  const out = new Map<string, StreamImage>();
  const products = (doc as { products?: unknown })?.products;
  if (typeof products !== 'object' || products === null) return out;
  for (const product of Object.values(products as Record<string, Record<string, unknown>>)) {
    const versions = product?.versions;
    if (typeof versions !== 'object' || versions === null) continue;
    const arch = typeof product.arch === 'string' ? product.arch : '';
    for (const [serial, version] of Object.entries(versions as Record<string, { items?: Record<string, Item> }>)) {
      const items = Object.values(version?.items ?? {});
      const props: Record<string, string> = { serial };
      for (const k of ['os', 'release', 'release_title', 'variant', 'aliases'] as const)
        if (typeof product[k] === 'string') props[k] = product[k] as string;
      if (arch) props.architecture = arch;
      const add = (img: StreamImage): void => {
        if (isDigest(img.fingerprint) && !out.has(img.fingerprint)) out.set(img.fingerprint, img);
      };
      for (const it of items) {
        if (it.ftype === 'lxd_combined.tar.gz' && typeof it.sha256 === 'string') {
          const f = file(it);
          if (f)
            add({
              fingerprint: it.sha256,
              type: 'container',
              files: [{ ...f, role: 'unified' }],
              properties: props,
              architecture: arch,
            });
        }
        if (it.ftype !== 'lxd.tar.xz' && it.ftype !== 'incus.tar.xz') continue;
        const meta = file(it);
        if (!meta) continue;
        for (const [key, ftypes, role] of PAIRS) {
          const fp = it[key];
          if (typeof fp !== 'string') continue;
          const root = items.find((r) => typeof r.ftype === 'string' && ftypes.includes(r.ftype));
          const rf = root && file(root);
          if (!rf) continue;
          add({
            fingerprint: fp,
            type: role === 'rootfs.img' ? 'virtual-machine' : 'container',
            files: [
              { ...meta, role: 'metadata' },
              { ...rf, role },
            ],
            properties: props,
            architecture: arch,
          });
        }
      }
    }
  }
  return out;
}

/** The products:1.0 paths an index:1.0 document lists for image downloads. */
export function productPathsFromIndex(doc: unknown): string[] {
  const index = (doc as { index?: unknown })?.index;
  if (typeof index !== 'object' || index === null) return [];
  return Object.values(index as Record<string, { datatype?: unknown; path?: unknown; format?: unknown }>)
    .filter(
      (e) =>
        e?.datatype === 'image-downloads' &&
        typeof e.path === 'string' &&
        (e.format === undefined || e.format === 'products:1.0'),
    )
    .map((e) => e.path as string);
}
