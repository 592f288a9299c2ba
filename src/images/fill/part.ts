// One part of a fill (unified file, metadata or rootfs) on its way into the cache. Chunks from the
// upstream are hashed and sniffed as they arrive, gathered into batches written in order behind a
// bounded queue (direct.ts: with O_DIRECT where the file system has it, from the upstream's own slabs
// when they are aligned for it, else through an aligned staging buffer, the unaligned rest carried to
// the next batch; without O_DIRECT one positional writev), and kept in memory for a while (the tail),
// so guests attached to the fill are sent the upstream's own buffers instead of re-reading the tmp file.
// A chunk leaving the tail is on disk and hashed: it goes back to its stream's slab pool (giveBack);
// guests sent views of it retain them until their write is done.
import type { FileHandle } from 'node:fs/promises';
import { giveBack, retain } from '../../util/slabs.ts';
import { SNIFF_BYTES, sniffExtension } from '../magic.ts';
import type { PartRole } from '../store/manifest.ts';
import { ALIGN, alignedBuffer, directSegments, gather } from './direct.ts';
import { streamHasher, type StreamHasher } from './hasher.ts';

/** Bytes gathered before one write to the tmp file. */
export const WRITE_BATCH = 4 * 1024 * 1024;
/** How many accepted bytes may wait for the disk before the upstream is paused. */
export const MAX_QUEUED = 32 * 1024 * 1024;
/** Readers of a fill are woken each time this many more bytes arrived (and at each part's end). */
export const WAKE_BYTES = 512 * 1024;
/** Recent bytes kept in memory for readers (besides those not yet on disk). */
export const TAIL_WINDOW = 16 * 1024 * 1024;

export interface FillPart {
  readonly role: PartRole;
  /** The tmp file: readers, the unaligned end, fsync. */
  readonly fh: FileHandle;
  /** The same file opened O_DIRECT (undefined: buffered writes only, or closed once written). */
  direct: FileHandle | undefined;
  /** A direct write failed with EINVAL: the rest goes buffered. */
  directRefused: boolean;
  /** The staging buffer of direct writes (one at a time: writes are chained). */
  stage: Buffer | undefined;
  readonly tmp: string;
  /** Exact size announced by the upstream, if any. */
  readonly size: number | undefined;
  /** Bytes on disk. */
  written: number;
  /** Bytes accepted from the upstream (>= written while writes are queued); readers may be sent this far. */
  accepted: number;
  /** `accepted` when readers were last woken. */
  woken: number;
  /** Writes run one after another on this chain, overlapping with hashing the next chunks. */
  chain: Promise<void>;
  ended: boolean;
  /** Known once SNIFF_BYTES arrived (or the part ended). */
  ext: string | undefined;
  head: Buffer[];
  headBytes: number;
  hash: StreamHasher | undefined;
  /** The fill's combined hasher (reads these chunks too) and how many bytes it had before this part. */
  readonly combined: { readonly hasher: StreamHasher; readonly base: number } | undefined;
  digest: string | undefined;
  /** Accepted chunks not yet handed to the disk. */
  batch: Buffer[];
  batchBytes: number;
  /** Recent chunks in memory, covering [tailStart, accepted); everything before tailStart is on disk. */
  tail: Buffer[];
  tailStart: number;
  /** Batches handed to the disk and not yet written, oldest first. */
  queued: { readonly end: number; readonly done: Promise<void> }[];
}

export const newPart = (
  role: PartRole,
  fh: FileHandle,
  direct: FileHandle | undefined,
  tmp: string,
  size: number | undefined,
  combined?: { readonly hasher: StreamHasher; readonly base: number },
): FillPart => ({
  role,
  fh,
  direct,
  directRefused: false,
  stage: undefined,
  tmp,
  size,
  written: 0,
  accepted: 0,
  woken: 0,
  chain: Promise.resolve(),
  ended: false,
  ext: undefined,
  head: [],
  headBytes: 0,
  // A unified image's own digest is the combined one: hash once.
  hash: role === 'unified' ? undefined : streamHasher(size),
  combined,
  digest: undefined,
  batch: [],
  batchBytes: 0,
  tail: [],
  tailStart: 0,
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

/**
 * Queue the gathered chunks for the disk. Direct: the ALIGN-multiple head through a staging buffer, the
 * rest stays gathered for the next batch (written buffered once the part ends, `last`).
 */
export function flushBatch(p: FillPart, last = false): void {
  const len = p.batchBytes;
  if (!len) return;
  const at = p.accepted - len;
  const useDirect = p.direct !== undefined && !p.directRefused;
  const head = useDirect ? len - (len % ALIGN) : 0;
  if (!last && useDirect && head === 0) return;
  const [direct, rest] = splitAt(p.batch, head);
  // Everything goes now (the part ended, or no direct writes), or the unaligned rest waits for more.
  const all = last || !useDirect;
  const buffered = all ? rest : [];
  const end = at + (all ? len : head);
  p.batch = all ? [] : rest;
  p.batchBytes = all ? 0 : len - head;
  const dfh = p.direct;
  p.chain = p.chain.then(async () => {
    if (head) {
      // The upstream's own memory when it is laid out for the disk (aligned slabs), else a staging copy.
      let bytes = directSegments(direct);
      if (!bytes) {
        if (!p.stage || p.stage.length < head) p.stage = alignedBuffer(Math.max(head, 2 * WRITE_BATCH));
        gather(direct, p.stage);
        bytes = [p.stage.subarray(0, head)];
      }
      await writeAll(dfh!, bytes, at).catch(async (e: NodeJS.ErrnoException) => {
        // A file system that took O_DIRECT at open but refuses this write: buffered from now on.
        if (e.code !== 'EINVAL') throw e;
        p.directRefused = true;
        await writeAll(p.fh, bytes, at);
      });
    }
    if (buffered.length) await writeAll(p.fh, buffered, at + head);
    p.written = end;
    p.queued.shift();
    trimTail(p);
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

/**
 * Drop tail chunks that are on disk, hashed (the hashers may read shared chunks in place) and older
 * than the window; their bytes go back to their pool.
 */
function trimTail(p: FillPart): void {
  let drop = 0;
  let start = p.tailStart;
  const hashed = Math.min(
    p.hash ? p.hash.hashed() : Infinity,
    p.combined ? p.combined.hasher.hashed() - p.combined.base : Infinity,
  );
  while (drop < p.tail.length) {
    const next = start + p.tail[drop]!.length;
    if (next > p.written || next > hashed || p.accepted - next < TAIL_WINDOW) break;
    start = next;
    drop++;
  }
  if (!drop) return;
  for (const chunk of p.tail.splice(0, drop)) giveBack(chunk);
  p.tailStart = start;
}

/** `bufs` cut at byte `n`: the views before it and the views from it. */
function splitAt(bufs: readonly Buffer[], n: number): [Buffer[], Buffer[]] {
  const a: Buffer[] = [];
  let i = 0;
  let left = n;
  for (; i < bufs.length && left > 0; i++) {
    const b = bufs[i]!;
    if (b.length <= left) {
      a.push(b);
      left -= b.length;
      continue;
    }
    a.push(b.subarray(0, left));
    return [a, [b.subarray(left), ...bufs.slice(i + 1)]];
  }
  return [a, bufs.slice(i)];
}

/**
 * Bytes of `p` a guest may be sent now: a part's last byte waits for its end, the image's last byte for
 * verification (a split image's metadata part is whole once ended: its own digest was checked).
 */
export function readableBytes(p: FillPart, verified: boolean): number {
  if (verified || (p.ended && p.role === 'metadata')) return p.accepted;
  return Math.max(0, p.accepted - 1);
}

/**
 * The bytes held in memory from `pos` (up to `end`, at most `max`) as views of the upstream's own
 * buffers, each retained (util/slabs.ts): the caller gives every one back once written. [] when pos is
 * older than the tail (read the file).
 */
export function heldViews(p: FillPart, pos: number, end: number, max: number): Buffer[] {
  if (pos < p.tailStart) return [];
  const to = Math.min(end, pos + max);
  const out: Buffer[] = [];
  let at = p.tailStart;
  for (const b of p.tail) {
    const next = at + b.length;
    if (next > pos) {
      const from = Math.max(0, pos - at);
      const upto = Math.min(b.length, to - at);
      if (upto > from) out.push(from === 0 && upto === b.length ? b : b.subarray(from, upto));
      if (next >= to) break;
    }
    at = next;
  }
  for (const v of out) retain(v);
  return out;
}

/**
 * After the last chunk: queue what is gathered, settle the sniffed extension and the part's digest.
 * The bytes may still be on their way to the disk: syncPart() before committing.
 */
export async function finishPart(p: FillPart): Promise<void> {
  flushBatch(p, true);
  if (p.ext === undefined) p.ext = sniffExtension(Buffer.concat(p.head));
  p.head = [];
  if (p.hash) p.digest = await p.hash.digest();
  p.ended = true;
}

/** Every byte handed to the file (not yet durable); the direct descriptor is closed. */
export async function written(p: FillPart): Promise<void> {
  await p.chain;
  await closeDirect(p);
}

/** Close the direct descriptor once nothing is queued for it (also after a failure). */
export async function closeDirect(p: FillPart): Promise<void> {
  await p.chain.catch(() => {});
  const d = p.direct;
  p.direct = undefined;
  p.stage = undefined;
  await d?.close().catch(() => {});
}

/** Every byte written and fsynced. */
export async function syncPart(p: FillPart): Promise<void> {
  await written(p);
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
