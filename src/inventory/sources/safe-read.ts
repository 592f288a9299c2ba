// Read an instance file the safe way: never through a symlink (O_NOFOLLOW), never a FIFO or device
// (O_NONBLOCK open, then fstat must say regular file), never more than `maxBytes`. Errors name the
// file and the reason, never its content.
import { constants } from 'node:fs';
import { open } from 'node:fs/promises';

export interface FileRead {
  readonly text: string;
  readonly size: number;
  readonly mtimeMs: number;
  readonly mode: number;
}

export class UnsafeFileError extends Error {
  readonly file: string;
  constructor(file: string, reason: string) {
    super(`${file}: ${reason}; ignored`);
    this.file = file;
  }
}

const FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK; // libuv adds O_CLOEXEC itself

/** Throws UnsafeFileError (not a regular file, too large), or the fs error (ENOENT, EACCES). */
export async function readInstanceFile(file: string, maxBytes: number): Promise<FileRead> {
  const fh = await open(file, FLAGS).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ELOOP')
      throw new UnsafeFileError(file, 'is a symbolic link (instance files must be regular files)');
    throw e;
  });
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw new UnsafeFileError(file, `is not a regular file (${kind(st)})`);
    if (st.size > maxBytes)
      throw new UnsafeFileError(file, `is ${st.size} bytes, over inventory.max_file_size (${maxBytes})`);
    const buf = Buffer.alloc(maxBytes + 1);
    let n = 0;
    while (n < buf.length) {
      const { bytesRead } = await fh.read(buf, n, buf.length - n, n);
      if (bytesRead === 0) break;
      n += bytesRead;
    }
    if (n > maxBytes) throw new UnsafeFileError(file, `grew over inventory.max_file_size (${maxBytes}) while read`);
    return { text: buf.subarray(0, n).toString('utf8'), size: st.size, mtimeMs: st.mtimeMs, mode: st.mode & 0o7777 };
  } finally {
    await fh.close();
  }
}

function kind(st: {
  isFIFO(): boolean;
  isCharacterDevice(): boolean;
  isBlockDevice(): boolean;
  isSocket(): boolean;
  isDirectory(): boolean;
}): string {
  if (st.isFIFO()) return 'a FIFO';
  if (st.isCharacterDevice() || st.isBlockDevice()) return 'a device';
  if (st.isSocket()) return 'a socket';
  if (st.isDirectory()) return 'a directory';
  return 'not a file';
}
