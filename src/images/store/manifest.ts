// An image is a small JSON manifest over content-addressed blobs. Encoding is pure; decoding
// validates every field, so a hand-edited or truncated manifest is refused rather than served.
import { isDigest } from '../fingerprint.ts';

export type PartRole = 'unified' | 'metadata' | 'rootfs' | 'rootfs.img';
export type ImageKind = 'unified' | 'split';
export type ImageType = 'container' | 'virtual-machine';

/** The part-order rule: a unified file alone, or metadata then rootfs (container) or rootfs.img (VM). */
export function nextPartRoles(sofar: readonly PartRole[]): readonly PartRole[] {
  if (sofar.length === 0) return ['unified', 'metadata'];
  if (sofar.length === 1 && sofar[0] === 'metadata') return ['rootfs', 'rootfs.img'];
  return [];
}

/** The kind of a complete list of parts, or undefined when the list breaks the part-order rule or is short. */
export function partsKind(roles: readonly PartRole[]): ImageKind | undefined {
  const r = roles.join(',');
  if (r === 'unified') return 'unified';
  if (r === 'metadata,rootfs' || r === 'metadata,rootfs.img') return 'split';
  return undefined;
}

/** Dates in manifests and Last-Modified headers have whole seconds (HTTP dates cannot say more). */
export const wholeSeconds = (d: Date): Date => new Date(Math.floor(d.getTime() / 1000) * 1000);

export interface ManifestPart {
  readonly role: PartRole;
  /** sha256 of this part's bytes: the blob name. */
  readonly digest: string;
  readonly size: number;
  /** Sniffed from magic bytes (see magic.ts); '' when unknown. */
  readonly ext: string;
}

export interface Manifest {
  readonly version: 1;
  readonly fingerprint: string;
  readonly kind: ImageKind;
  readonly type: ImageType;
  readonly parts: readonly ManifestPart[];
  /** Visibility flags as the upstream reported them; a guest sees the image only if one is true. */
  readonly public: boolean;
  readonly cached: boolean;
  /** Never evicted. (The config's `pinned` list pins too, without touching the manifest.) */
  readonly pinned: boolean;
  readonly architecture: string;
  readonly properties: Readonly<Record<string, string>>;
  /** HTTP Last-Modified (whole seconds, ISO 8601). */
  readonly last_modified: string;
  readonly created_at: string;
  /** Where the bytes came from: an upstream name or "import". */
  readonly source: string;
}

export const manifestSize = (m: Pick<Manifest, 'parts'>): number => m.parts.reduce((n, p) => n + p.size, 0);

export const imageTypeOf = (parts: readonly Pick<ManifestPart, 'role'>[]): ImageType =>
  parts.some((p) => p.role === 'rootfs.img') ? 'virtual-machine' : 'container';

export const encodeManifest = (m: Manifest): string => `${JSON.stringify(m, null, 2)}\n`;

const ROLES: readonly string[] = ['unified', 'metadata', 'rootfs', 'rootfs.img'];

export class ManifestError extends Error {}

export function decodeManifest(text: string, expectFingerprint?: string): Manifest {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new ManifestError(`not JSON: ${(e as Error).message}`);
  }
  const o = v as Record<string, unknown>;
  const fail = (what: string): never => {
    throw new ManifestError(what);
  };
  if (typeof o !== 'object' || o === null) fail('not an object');
  if (o.version !== 1) fail(`unsupported version ${JSON.stringify(o.version)}`);
  if (typeof o.fingerprint !== 'string' || !isDigest(o.fingerprint)) fail('bad fingerprint');
  if (expectFingerprint !== undefined && o.fingerprint !== expectFingerprint)
    fail('fingerprint does not match the file name');
  if (o.kind !== 'unified' && o.kind !== 'split') fail('bad kind');
  if (!Array.isArray(o.parts)) fail('bad parts');
  const parts = (o.parts as unknown[]).map((p): ManifestPart => {
    const q = p as Record<string, unknown>;
    if (typeof q !== 'object' || q === null) fail('bad part');
    if (typeof q.role !== 'string' || !ROLES.includes(q.role)) fail('bad part role');
    if (typeof q.digest !== 'string' || !isDigest(q.digest)) fail('bad part digest');
    if (typeof q.size !== 'number' || !Number.isSafeInteger(q.size) || q.size < 0) fail('bad part size');
    if (typeof q.ext !== 'string' || !/^(\.[a-z0-9]+)*$/.test(q.ext)) fail('bad part ext');
    return { role: q.role as PartRole, digest: q.digest as string, size: q.size as number, ext: q.ext as string };
  });
  const roles = parts.map((p) => p.role);
  if (partsKind(roles) !== (o.kind === 'unified' ? 'unified' : 'split')) fail(`bad part layout ${roles.join(',')}`);
  if (o.kind === 'unified' && parts[0]!.digest !== o.fingerprint)
    fail('unified image digest differs from its fingerprint');
  const props = o.properties ?? {};
  if (typeof props !== 'object' || props === null || Object.values(props).some((x) => typeof x !== 'string'))
    fail('bad properties');
  for (const k of ['last_modified', 'created_at'] as const)
    if (typeof o[k] !== 'string' || Number.isNaN(Date.parse(o[k] as string))) fail(`bad ${k}`);
  return {
    version: 1,
    fingerprint: o.fingerprint as string,
    kind: o.kind as ImageKind,
    type: o.type === 'virtual-machine' ? 'virtual-machine' : imageTypeOf(parts),
    parts,
    public: o.public === true,
    cached: o.cached === true,
    pinned: o.pinned === true,
    architecture: typeof o.architecture === 'string' ? o.architecture : '',
    properties: props as Record<string, string>,
    last_modified: o.last_modified as string,
    created_at: o.created_at as string,
    source: typeof o.source === 'string' ? o.source : '',
  };
}
