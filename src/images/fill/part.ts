// One part of a fill (unified file, metadata or rootfs) on its way into the cache: a tmp file
// written in order behind a bounded queue, hashed as it streams, its type sniffed from the head.
import { createHash, type Hash } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import { SNIFF_BYTES, sniffExtension } from '../magic.ts';
import type { PartRole } from '../store/manifest.ts';

export interface FillPart {
  readonly role: PartRole;
  readonly fh: FileHandle;
  readonly tmp: string;
  /** Exact size announced by the upstream, if any. */
  readonly size: number | undefined;
  /** Bytes on disk (readers may read this far). */
  written: number;
  /** Bytes accepted from the upstream (>= written while writes are queued). */
  accepted: number;
  /** Writes run one after another on this chain, overlapping with hashing the next chunk. */
  chain: Promise<void>;
  ended: boolean;
  /** Known once SNIFF_BYTES arrived (or the part ended). */
  ext: string | undefined;
  head: Buffer[];
  headBytes: number;
  hash: Hash | undefined;
  digest: string | undefined;
}

/** How many accepted bytes may wait for the disk before the upstream is paused. */
export const MAX_QUEUED = 8 * 1024 * 1024;

export const newPart = (role: PartRole, fh: FileHandle, tmp: string, size: number | undefined): FillPart => ({
  role,
  fh,
  tmp,
  size,
  written: 0,
  accepted: 0,
  chain: Promise.resolve(),
  ended: false,
  ext: undefined,
  head: [],
  headBytes: 0,
  // A unified image's own digest is the combined one: hash once.
  hash: role === 'unified' ? undefined : createHash('sha256'),
  digest: undefined,
});

/** Hash, sniff and queue one chunk at the part's end; `onWritten` runs once it is on disk. */
export function appendChunk(p: FillPart, chunk: Buffer, onWritten: () => void): void {
  p.hash?.update(chunk);
  if (p.ext === undefined) sniff(p, chunk);
  const at = p.accepted;
  p.accepted += chunk.length;
  p.chain = p.chain.then(async () => {
    let off = 0;
    while (off < chunk.length) {
      const { bytesWritten } = await p.fh.write(chunk, off, chunk.length - off, at + off);
      off += bytesWritten;
    }
    p.written = at + chunk.length;
    onWritten();
  });
  p.chain.catch(() => {}); // surfaces at the next awaited write or endPart
}

/** After the last chunk: fsync, settle the sniffed extension and the part's digest. */
export async function finishPart(p: FillPart): Promise<void> {
  await p.fh.sync();
  if (p.ext === undefined) p.ext = sniffExtension(Buffer.concat(p.head));
  p.head = [];
  if (p.hash) p.digest = p.hash.digest('hex');
  p.ended = true;
}

function sniff(p: FillPart, chunk: Buffer): void {
  const take = chunk.subarray(0, SNIFF_BYTES - p.headBytes);
  p.head.push(Buffer.from(take));
  p.headBytes += take.length;
  if (p.headBytes >= SNIFF_BYTES) {
    p.ext = sniffExtension(Buffer.concat(p.head));
    p.head = [];
  }
}
