// Read an instance file the safe way: never through a symlink (O_NOFOLLOW), never a FIFO or device
// (O_NONBLOCK open, then fstat must say regular file), never more than `maxBytes`. Errors name the
// file and the reason, never its content.
import { closeSync, constants, fstatSync, openSync, readSync, type Stats } from 'node:fs';
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
    throw openError(file, e);
  });
  try {
    const st = checked(file, await fh.stat(), maxBytes);
    const r = new Reader(st.size, maxBytes);
    for (let b = r.room(); b; b = r.room()) if (!r.got((await fh.read(b, 0, b.length, r.n)).bytesRead)) break;
    return r.result(file, st);
  } finally {
    await fh.close();
  }
}

/**
 * The same, synchronously: for the scan at start, before anything is served, where 10,000 files through
 * the thread pool cost seconds of round trips (open, fstat, read, read, close, twice per file to settle).
 */
export function readInstanceFileSync(file: string, maxBytes: number): FileRead {
  let fd: number;
  try {
    fd = openSync(file, FLAGS);
  } catch (e) {
    throw openError(file, e as NodeJS.ErrnoException);
  }
  try {
    const st = checked(file, fstatSync(fd), maxBytes);
    const r = new Reader(st.size, maxBytes);
    for (let b = r.room(); b; b = r.room()) if (!r.got(readSync(fd, b, 0, b.length, r.n))) break;
    return r.result(file, st);
  } finally {
    closeSync(fd);
  }
}

const openError = (file: string, e: NodeJS.ErrnoException): Error =>
  e.code === 'ELOOP' ? new UnsafeFileError(file, 'is a symbolic link (instance files must be regular files)') : e;

function checked(file: string, st: Stats, maxBytes: number): Stats {
  if (!st.isFile()) throw new UnsafeFileError(file, `is not a regular file (${kind(st)})`);
  if (st.size > maxBytes)
    throw new UnsafeFileError(file, `is ${st.size} bytes, over inventory.max_file_size (${maxBytes})`);
  return st;
}

/**
 * The bytes of one read: a buffer sized by fstat (one byte more, to see growth), grown while the file
 * grows, up to maxBytes + 1. (A zero-filled maxBytes buffer per read made a start with 10,000 files
 * take 60 s of GC.)
 */
class Reader {
  n = 0;
  #buf: Buffer;
  readonly #max: number;
  constructor(size: number, max: number) {
    this.#buf = Buffer.allocUnsafe(Math.min(max, size) + 1);
    this.#max = max;
  }
  /** Where the next read goes (a view starting at byte n), or undefined when over the limit. */
  room(): Buffer | undefined {
    if (this.n === this.#buf.length) {
      if (this.#buf.length > this.#max) return undefined;
      const bigger = Buffer.allocUnsafe(Math.min(this.#max + 1, this.#buf.length * 2));
      this.#buf.copy(bigger, 0, 0, this.n);
      this.#buf = bigger;
    }
    return this.#buf.subarray(this.n);
  }
  /** Count a read; false at the end of the file. */
  got(bytes: number): boolean {
    this.n += bytes;
    return bytes > 0;
  }
  result(file: string, st: Stats): FileRead {
    if (this.n > this.#max)
      throw new UnsafeFileError(file, `grew over inventory.max_file_size (${this.#max}) while read`);
    const text = this.#buf.subarray(0, this.n).toString('utf8');
    return { text, size: st.size, mtimeMs: st.mtimeMs, mode: st.mode & 0o7777 };
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
