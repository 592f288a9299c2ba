// One part of a fill (unified file, metadata or rootfs) on its way into the cache. Chunks from the
// upstream are hashed and sniffed as they arrive, gathered into batches written with one positional
// writev each (in order, behind a bounded queue), and kept in memory for a while (the tail) so guests
// attached to the fill are sent the upstream's own buffers instead of re-reading the tmp file. A
// background fdatasync now and then keeps the final fsync short.
import type { FileHandle } from 'node:fs/promises';
import { SNIFF_BYTES, sniffExtension } from '../magic.ts';
import type { PartRole } from '../store/manifest.ts';
import { streamHasher, type StreamHasher } from './hasher.ts';

/** Bytes gathered before one writev to the tmp file. */
export const WRITE_BATCH = 1024 * 1024;
/** How many accepted bytes may wait for the disk before the upstream is paused. */
export const MAX_QUEUED = 32 * 1024 * 1024;
/** Recent bytes kept in memory for readers (besides those not yet on disk). */
export const TAIL_WINDOW = 16 * 1024 * 1024;
/** Start a background fdatasync each time this many bytes were written since the last one. */
export const SYNC_EVERY = 128 * 1024 * 1024;

export interface FillPart {
  readonly role: PartRole;
  readonly fh: FileHandle;
  readonly tmp: string;
  /** Exact size announced by the upstream, if any. */
  readonly size: number | undefined;
  /** Bytes on disk. */
  written: number;
  /** Bytes accepted from the upstream (>= written while writes are queued); readers may be sent this far. */
  accepted: number;
  /** Writes run one after another on this chain, overlapping with hashing the next chunks. */
  chain: Promise<void>;
  ended: boolean;
  /** Known once SNIFF_BYTES arrived (or the part ended). */
  ext: string | undefined;
  head: Buffer[];
  headBytes: number;
  hash: StreamHasher | undefined;
  digest: string | undefined;
  /** Accepted chunks not yet handed to the disk. */
  batch: Buffer[];
  batchBytes: number;
  /** Recent chunks in memory, covering [tailStart, accepted); everything before tailStart is on disk. */
  tail: Buffer[];
  tailStart: number;
  synced: number;
  syncing: Promise<void> | undefined;
  /** Batches handed to the disk and not yet written, oldest first. */
  queued: { readonly end: number; readonly done: Promise<void> }[];
}

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
  hash: role === 'unified' ? undefined : streamHasher(size),
  digest: undefined,
  batch: [],
  batchBytes: 0,
  tail: [],
  tailStart: 0,
  synced: 0,
  syncing: undefined,
  queued: [],
});

/**
 * Hash, sniff and accept one chunk at the part's end (a batch goes to the disk queue once big
 * enough). Returns a promise only when the part's hasher needs time to make room.
 */
export function appendChunk(p: FillPart, chunk: Buffer): Promise<void> | undefined {
  const room = p.hash?.update(chunk);
  if (p.ext === undefined) sniff(p, chunk);
  p.accepted += chunk.length;
  p.tail.push(chunk);
  p.batch.push(chunk);
  p.batchBytes += chunk.length;
  if (p.batchBytes >= WRITE_BATCH) flushBatch(p);
  return room;
}

/** Queue the gathered chunks for one positional writev. */
export function flushBatch(p: FillPart): void {
  if (!p.batchBytes) return;
  const bufs = p.batch;
  const at = p.accepted - p.batchBytes;
  const end = p.accepted;
  p.batch = [];
  p.batchBytes = 0;
  p.chain = p.chain.then(async () => {
    await writeAll(p.fh, bufs, at);
    p.written = end;
    p.queued.shift();
    trimTail(p);
    startSync(p);
  });
  p.chain.catch(() => {}); // surfaces at the next awaited write or endPart
  p.queued.push({ end, done: p.chain });
}

/** Wait (only if needed) until at most MAX_QUEUED accepted bytes wait for the disk. */
export async function diskRoom(p: FillPart): Promise<void> {
  while (p.accepted - p.written > MAX_QUEUED) {
    const oldest = p.queued.find((q) => p.accepted - q.end <= MAX_QUEUED) ?? p.queued.at(-1);
    if (!oldest) return;
    await oldest.done;
  }
}

async function writeAll(fh: FileHandle, bufs: Buffer[], at: number): Promise<void> {
  let pos = at;
  let rest = bufs;
  while (rest.length) {
    const { bytesWritten } = await fh.writev(rest, pos);
    pos += bytesWritten;
    let skip = bytesWritten;
    let i = 0;
    while (i < rest.length && skip >= rest[i]!.length) skip -= rest[i++]!.length;
    rest = rest.slice(i);
    if (skip && rest.length) rest = [rest[0]!.subarray(skip), ...rest.slice(1)];
  }
}

/** Drop tail chunks that are on disk and older than the window. */
function trimTail(p: FillPart): void {
  let drop = 0;
  let start = p.tailStart;
  while (drop < p.tail.length) {
    const next = start + p.tail[drop]!.length;
    if (next > p.written || p.accepted - next < TAIL_WINDOW) break;
    start = next;
    drop++;
  }
  if (!drop) return;
  p.tail.splice(0, drop);
  p.tailStart = start;
}

function startSync(p: FillPart): void {
  if (p.syncing || p.written - p.synced < SYNC_EVERY) return;
  const upto = p.written;
  p.syncing = p.fh.datasync().then(
    () => {
      p.synced = upto;
      p.syncing = undefined;
    },
    () => {
      p.syncing = undefined; // the final fsync reports any error
    },
  );
}

/** The in-memory buffers covering [pos, min(end, accepted)), or [] when pos is older than the tail (read the file). */
export function heldBytes(p: FillPart, pos: number, end: number): Buffer[] {
  if (pos < p.tailStart) return [];
  const out: Buffer[] = [];
  let at = p.tailStart;
  for (const b of p.tail) {
    const next = at + b.length;
    if (next > pos) {
      const from = Math.max(0, pos - at);
      const to = Math.min(b.length, end - at);
      if (to > from) out.push(from === 0 && to === b.length ? b : b.subarray(from, to));
      if (next >= end) break;
    }
    at = next;
  }
  return out;
}

/**
 * After the last chunk: queue what is gathered, settle the sniffed extension and the part's digest.
 * The bytes may still be on their way to the disk: syncPart() before committing.
 */
export async function finishPart(p: FillPart): Promise<void> {
  flushBatch(p);
  if (p.ext === undefined) p.ext = sniffExtension(Buffer.concat(p.head));
  p.head = [];
  if (p.hash) p.digest = await p.hash.digest();
  p.ended = true;
}

/** Every byte written and fsynced (one fsync; the background ones made it short). */
export async function syncPart(p: FillPart): Promise<void> {
  await p.chain;
  await p.syncing;
  await p.fh.sync();
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
