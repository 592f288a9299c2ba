// Moves bytes from a file descriptor to an HTTP response as fast as the socket takes them: big
// positional reads into two reusable buffers, each reused only once the socket has taken it
// (write callback), so one read overlaps one write and memory stays at 2 x CHUNK per download.
// Used for what sendfile.ts does not send: a fill in progress and a chunked (split, whole) body.
// A fill in progress also offers the bytes it still holds in memory: those go out as they are (one
// corked writev), retained until the socket took them (the fill's buffers are read into again after).
import type { ServerResponse } from 'node:http';
import type { FileHandle } from 'node:fs/promises';
import { giveBack } from '../../util/slabs.ts';
import { raiseSendBuffer } from './socket-tuning.ts';

export const CHUNK = 2 * 1024 * 1024;

export interface ByteSource {
  readonly fh: FileHandle;
  /**
   * For a file still being written: resolve with how far (absolute position) bytes may be read
   * once more than `pos` is available, or with a value <= pos at the end of the data; reject if
   * the transfer failed. Absent for a complete file.
   */
  available?(pos: number): Promise<number>;
  /**
   * Bytes held in memory from pos (up to end, at most max), retained: each is given back (util/slabs.ts
   * giveBack) once written. [] when pos must be read from the file (up to onDisk()).
   */
  held?(pos: number, end: number, max: number): Buffer[];
  onDisk?(): number;
}

export class ClientGone extends Error {}

/**
 * Buffers in one go (one writev); resolves once the socket took the last. The socket is corked
 * too: a chunked response's uncork() writes its chunk's pieces one by one to the socket (one syscall
 * each, 17 for half a MiB of an LXD multipart upstream's 32 KiB pieces) unless the socket holds them.
 */
function writeMany(res: ServerResponse, bufs: Buffer[]): Promise<void> {
  return new Promise((resolve, reject) => {
    if (res.destroyed) return reject(new ClientGone('response destroyed'));
    const sock = res.socket;
    sock?.cork();
    res.cork();
    for (let i = 0; i < bufs.length - 1; i++) res.write(bufs[i]!);
    res.write(bufs.at(-1)!, (err) => (err ? reject(err) : resolve()));
    res.uncork();
    sock?.uncork();
  });
}

/** Send bytes [start, end) of the source. Throws if the client left or the source failed. */
export async function sendRange(
  res: ServerResponse,
  src: ByteSource,
  start: number,
  end: number,
  signal: AbortSignal,
): Promise<void> {
  raiseSendBuffer(res.socket);
  const bufs = [Buffer.allocUnsafe(Math.min(CHUNK, Math.max(1, end - start))), undefined as Buffer | undefined];
  const inflight: [Promise<void> | undefined, Promise<void> | undefined] = [undefined, undefined];
  const gone = new Promise<never>((_, reject) => {
    const fail = (): void => reject(new ClientGone('client went away'));
    if (signal.aborted) fail();
    else signal.addEventListener('abort', fail, { once: true });
    res.once('close', () => {
      if (!res.writableFinished) fail();
    });
  });
  gone.catch(() => {});
  let pos = start;
  let limit = src.available ? start : end;
  let i = 0;
  while (pos < end) {
    if (inflight[i]) await Promise.race([inflight[i], gone]);
    if (pos >= limit) {
      limit = Math.min(end, await Promise.race([src.available!(pos), gone]));
      if (limit <= pos) break;
    }
    const mem = src.held?.(pos, limit, CHUNK) ?? [];
    if (mem.length) {
      inflight[i] = writeMany(res, mem).finally(() => {
        for (const b of mem) giveBack(b);
      });
      inflight[i]!.catch(() => {});
      for (const b of mem) pos += b.length;
      i ^= 1;
      continue;
    }
    const buf = bufs[i] ?? Buffer.allocUnsafe(bufs[0]!.length);
    bufs[i] = buf;
    const readTo = src.onDisk ? Math.min(limit, src.onDisk()) : limit;
    const { bytesRead } = await src.fh.read(buf, 0, Math.min(buf.length, readTo - pos), pos);
    if (bytesRead <= 0) throw new Error(`short read at ${pos}`);
    inflight[i] = writeMany(res, [bytesRead === buf.length ? buf : buf.subarray(0, bytesRead)]);
    inflight[i]!.catch(() => {});
    pos += bytesRead;
    i ^= 1;
  }
  await Promise.race([Promise.all(inflight), gone]);
}
