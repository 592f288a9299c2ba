// Direct (O_DIRECT) writes for a fill's tmp files: the bytes go from an aligned staging buffer to the
// disk without the page cache. On the virtual disks guestgate was measured on, buffered writes cost a
// whole core in the kernel (ext4 delayed allocation, 4 KiB page copies: 0.3-0.7 GB/s) and the final
// fsync then waited for all of it; direct writes of 4 MiB ran at 1.0-1.3 GB/s with almost no CPU, and
// the fsync only flushes metadata. A file system that refuses O_DIRECT (tmpfs, some FUSE) gets buffered
// writes, as before.
import { constants } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';
import { bufferAddress } from '../../identity/native.ts';
import type { AlignedSlabs } from '../../net/http-client-stream.ts';

/** Offset, length and buffer alignment of every direct write (the largest logical block size in use). */
export const ALIGN = 4096;

/**
 * A second, write-only O_DIRECT descriptor on the file `fh` has open, or undefined where the file system
 * has none. Reopened through /proc/self/fd, so it is the same inode whatever happened to the path since.
 */
export async function openDirect(fh: FileHandle): Promise<FileHandle | undefined> {
  try {
    return await open(`/proc/self/fd/${fh.fd}`, constants.O_WRONLY | constants.O_DIRECT);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EINVAL' || code === 'ENOENT') return undefined; // no O_DIRECT here, or no /proc
    throw e;
  }
}

/** A buffer of `size` bytes whose first byte sits on an ALIGN boundary (over a SharedArrayBuffer if `shared`). */
export function alignedBuffer(size: number, shared = false): Buffer {
  const raw = shared ? Buffer.from(new SharedArrayBuffer(size + ALIGN)) : Buffer.allocUnsafeSlow(size + ALIGN);
  const skip = (ALIGN - Number(bufferAddress(raw) % BigInt(ALIGN))) % ALIGN;
  return raw.subarray(skip, skip + size);
}

/** Copy `bufs` (in order) into `dst` from its start; returns the bytes copied. */
export function gather(bufs: readonly Buffer[], dst: Buffer): number {
  let at = 0;
  for (const b of bufs) at += b.copy(dst, at);
  return at;
}

/**
 * Slabs for upstream reads whose bytes can go to the disk as they are (see directSegments), over
 * shared memory so the hash worker reads them in place too (hasher.ts).
 */
export const DIRECT_SLABS: AlignedSlabs = { align: ALIGN, alloc: (size) => alignedBuffer(size, true) };

/**
 * `views` (consecutive bytes of a part, starting at an ALIGN-multiple file offset) as the fewest
 * buffers a direct write takes as they are: touching views of one ArrayBuffer are joined, and every
 * resulting buffer must start on an ALIGN boundary in memory and be a multiple of ALIGN long.
 * Undefined when they are not (then the bytes go through the staging buffer).
 */
export function directSegments(views: readonly Buffer[]): Buffer[] | undefined {
  const out: Buffer[] = [];
  let cur: Buffer | undefined;
  for (const v of views) {
    if (cur && v.buffer === cur.buffer && cur.byteOffset + cur.length === v.byteOffset) {
      cur = Buffer.from(cur.buffer, cur.byteOffset, cur.length + v.length);
      continue;
    }
    if (cur) out.push(cur);
    cur = v;
  }
  if (cur) out.push(cur);
  for (const b of out) if (b.length % ALIGN !== 0 || bufferAddress(b) % BigInt(ALIGN) !== 0n) return undefined;
  return out;
}
