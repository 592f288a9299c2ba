// Direct (O_DIRECT) writes for a fill's tmp files: the bytes go from an aligned staging buffer to the
// disk without the page cache. On the virtual disks guestgate was measured on, buffered writes cost a
// whole core in the kernel (ext4 delayed allocation, 4 KiB page copies: 0.3-0.7 GB/s) and the final
// fsync then waited for all of it; direct writes of 4 MiB ran at 1.0-1.3 GB/s with almost no CPU, and
// the fsync only flushes metadata. A file system that refuses O_DIRECT (tmpfs, some FUSE) gets buffered
// writes, as before.
import { constants } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';
import { bufferAddress } from '../../identity/native.ts';

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

/** A buffer of `size` bytes whose first byte sits on an ALIGN boundary. */
export function alignedBuffer(size: number): Buffer {
  const raw = Buffer.allocUnsafeSlow(size + ALIGN);
  const skip = (ALIGN - Number(bufferAddress(raw) % BigInt(ALIGN))) % ALIGN;
  return raw.subarray(skip, skip + size);
}

/** Copy `bufs` (in order) into `dst` from its start; returns the bytes copied. */
export function gather(bufs: readonly Buffer[], dst: Buffer): number {
  let at = 0;
  for (const b of bufs) at += b.copy(dst, at);
  return at;
}
