// Is this an LXD image at all? Decides from facts read off the files (magic bytes, metadata.yaml, the
// rootfs entry): the importer and a fill call it before anything is committed, so junk is never cached
// nor served to a nested LXD. Pure: src/images/inspect.ts reads the facts.
import type { PartRole } from './store/manifest.ts';

export const TARBALL_EXTS: readonly string[] = ['.tar', '.tar.gz', '.tar.xz', '.tar.lzma', '.tar.bz2', '.tar.zst'];
/** Compressions node:zlib cannot read: decompressed by the system's xz / bzip2. */
const EXTERNAL: Readonly<Record<string, string>> = { '.tar.xz': 'xz', '.tar.lzma': 'xz', '.tar.bz2': 'bzip2' };

export interface PartFacts {
  /** A name for messages: the file path (import) or the part role (fill). */
  readonly name: string;
  readonly role: PartRole;
  /** From the magic bytes (src/images/magic.ts); '' when unknown. */
  readonly ext: string;
  /** For tarball parts: what the scan found (undefined: no metadata.yaml read). */
  readonly metadata?: {
    readonly yaml: boolean;
    readonly architecture: string;
    readonly creationDate?: number;
    readonly rootfs?: 'rootfs' | 'rootfs.img';
  };
}

function tarballProblems(p: PartFacts, needRootfs: boolean): string[] {
  if (!TARBALL_EXTS.includes(p.ext))
    return [
      `${p.name}: not an image tarball (no tar, gzip, xz, lzma, bzip2 or zstd magic${p.ext ? `; looks like ${p.ext}` : ''})`,
    ];
  const m = p.metadata;
  if (!m?.yaml) {
    const tool = EXTERNAL[p.ext];
    return [`${p.name}: no metadata.yaml in the ${p.ext} tarball${tool ? ` (or \`${tool}\` is not installed)` : ''}`];
  }
  const out: string[] = [];
  if (!m.architecture) out.push(`${p.name}: metadata.yaml has no architecture (or is not valid YAML)`);
  if (m.creationDate === undefined) out.push(`${p.name}: metadata.yaml has no creation_date (seconds since 1970)`);
  if (needRootfs && !m.rootfs) out.push(`${p.name}: no rootfs/ folder nor rootfs.img in the unified image`);
  return out;
}

/** Every problem found (empty: a valid image). Unified: one tarball with rootfs; split: metadata + rootfs. */
export function imageProblems(parts: readonly PartFacts[]): string[] {
  const first = parts[0];
  if (!first) return ['no image files'];
  if (parts.length === 1) {
    if (first.role !== 'unified') return [`${first.name}: a single file must be a unified image`];
    return tarballProblems(first, true);
  }
  if (parts.length !== 2) return ['expected one unified image file, or a metadata tarball and a rootfs'];
  const rootfs = parts[1]!;
  const out = tarballProblems(first, false);
  if (rootfs.role === 'rootfs.img') {
    if (rootfs.ext !== '.qcow2') out.push(`${rootfs.name}: a VM rootfs.img must be qcow2 (no QFI magic)`);
  } else if (rootfs.ext !== '.squashfs' && !TARBALL_EXTS.includes(rootfs.ext))
    out.push(`${rootfs.name}: a container rootfs must be squashfs or a tarball (no hsqs nor tar/compression magic)`);
  return out;
}
