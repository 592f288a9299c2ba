// Reads metadata.yaml out of an image tarball (unified image, or the metadata part of a split one)
// to fill in architecture and properties, and tells container from VM for unified images (a
// `rootfs.img` entry). Streams and stops early: metadata.yaml comes first in LXD-made tarballs,
// so a multi-GB unified image costs a few KB of decompression. Best effort: a tarball we cannot
// decompress (no xz/bzip2 binary) yields no properties, never an error.
import { spawn } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { PassThrough, type Readable } from 'node:stream';
import { createGunzip, createZstdDecompress } from 'node:zlib';
import yaml from 'js-yaml';
import { Parser, type ReadEntry } from 'tar';

export interface ImageMetadata {
  architecture: string;
  properties: Record<string, string>;
  /** Entry seen: `rootfs.img` (VM) or `rootfs/` (container); undefined if neither was reached. */
  rootfs?: 'rootfs' | 'rootfs.img';
  creationDate?: number;
}

const MAX_METADATA_YAML = 1024 * 1024;
/** Give up after this many decompressed bytes without finding metadata.yaml. */
const MAX_SCAN_BYTES = 64 * 1024 * 1024;

function decompressor(ext: string): { stream: NodeJS.ReadWriteStream; kill?: () => void } | undefined {
  switch (ext) {
    case '.tar':
      return { stream: new PassThrough() };
    case '.tar.gz':
      return { stream: createGunzip() };
    case '.tar.zst':
      return { stream: createZstdDecompress() };
    case '.tar.xz':
    case '.tar.lzma':
    case '.tar.bz2': {
      // node:zlib has no xz/bzip2; the system tools do, when installed.
      const child = spawn(ext === '.tar.bz2' ? 'bzip2' : 'xz', ['-dc'], { stdio: ['pipe', 'pipe', 'ignore'] });
      child.on('error', () => {});
      child.stdin.on('error', () => {});
      // Present stdin/stdout as one duplex: writes go to the child, reads come from it.
      const io = Object.assign(child.stdout, {
        write: child.stdin.write.bind(child.stdin),
        end: child.stdin.end.bind(child.stdin),
      }) as unknown as NodeJS.ReadWriteStream;
      return { stream: io, kill: () => child.kill() };
    }
    default:
      return undefined;
  }
}

/** `path` as metadata.yaml sees it: "metadata.yaml" or "./metadata.yaml". */
const clean = (p: string): string => p.replace(/^(\.\/)+/, '');

export function parseMetadataYaml(text: string): Pick<ImageMetadata, 'architecture' | 'properties' | 'creationDate'> {
  let doc: unknown;
  try {
    doc = yaml.load(text, { schema: yaml.FAILSAFE_SCHEMA }); // every scalar a string, like LXD's map[string]string
  } catch {
    return { architecture: '', properties: {} };
  }
  const o = (typeof doc === 'object' && doc !== null ? doc : {}) as Record<string, unknown>;
  const properties: Record<string, string> = {};
  const p = o.properties;
  if (typeof p === 'object' && p !== null && !Array.isArray(p)) {
    for (const [k, v] of Object.entries(p)) if (v !== null && typeof v !== 'object') properties[k] = String(v);
  }
  const cd = Number(o.creation_date);
  return {
    architecture: typeof o.architecture === 'string' ? o.architecture : '',
    properties,
    ...(Number.isFinite(cd) && cd > 0 ? { creationDate: cd } : {}),
  };
}

/** Read a tarball file's metadata. `wantRootfs`: keep scanning for the rootfs entry after metadata.yaml. */
export function readImageMetadata(file: string, ext: string, wantRootfs: boolean): Promise<ImageMetadata | undefined> {
  const dec = decompressor(ext);
  if (!dec) return Promise.resolve(undefined);
  return new Promise((resolve) => {
    const src: Readable = createReadStream(file, { highWaterMark: 256 * 1024 });
    let meta: ImageMetadata | undefined;
    let rootfs: ImageMetadata['rootfs'];
    let scanned = 0;
    let settled = false;
    const finish = (): void => {
      if (settled) return;
      settled = true;
      src.destroy();
      dec.kill?.();
      (dec.stream as unknown as { destroy?: () => void }).destroy?.();
      resolve(meta ? { ...meta, ...(rootfs ? { rootfs } : {}) } : undefined);
    };
    const parser = new Parser({
      strict: false,
      onReadEntry: (entry: ReadEntry) => {
        const path = clean(entry.path);
        if (!rootfs && (path === 'rootfs.img' || path === 'rootfs' || path.startsWith('rootfs/')))
          rootfs = path === 'rootfs.img' ? 'rootfs.img' : 'rootfs';
        if (path === 'metadata.yaml' && entry.type === 'File' && entry.size <= MAX_METADATA_YAML) {
          const chunks: Buffer[] = [];
          entry.on('data', (c: Buffer) => chunks.push(c));
          entry.on('end', () => {
            meta = parseMetadataYaml(Buffer.concat(chunks).toString('utf8'));
            if (!wantRootfs || rootfs) finish();
          });
        } else {
          entry.resume();
          if (meta && (!wantRootfs || rootfs)) finish();
        }
      },
    });
    parser.on('end', finish);
    parser.on('error', finish);
    dec.stream.on('error', finish);
    src.on('error', finish);
    dec.stream.on('data', (c: Buffer) => {
      scanned += c.length;
      if (scanned > MAX_SCAN_BYTES) finish();
      else parser.write(c);
    });
    dec.stream.on('end', () => parser.end());
    src.pipe(dec.stream as unknown as NodeJS.WritableStream);
  });
}
