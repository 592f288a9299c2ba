// sha256 of a stream on the thread pool: OpenSSL's SHA256_Update (the one inside node, see
// identity/native.ts) called asynchronously, one call at a time per stream. Each call takes every byte
// queued since the previous one that lies next to it in memory, so the consecutive reads of one slab
// are one call (up to MAX_CALL bytes). Chunks over shared memory (slabs) are hashed where they are; any
// other chunk is first copied into a ring of QUEUED bytes. The contract is the worker's (hasher.ts):
// hashed() says how far it got, the caller keeps a shared chunk's bytes unchanged until then, and
// update() asks the caller to wait while more than QUEUED bytes are queued. No Worker to start (~40 ms
// and ~18 MB each), and a stream's hashing still runs beside the thread that reads the upstream.
import { SHA256_CTX_BYTES, type Sha256Native } from '../../identity/native.ts';
import type { StreamHasher } from './hasher.ts';
import { copyIntoRing } from './ring.ts';

/** Bytes queued at most (and the size of the copy ring). */
const QUEUED = 16 * 1024 * 1024;
/** Bytes per SHA256_Update call at most (one 4 MiB slab). */
const MAX_CALL = 4 * 1024 * 1024;

interface Span {
  readonly ab: ArrayBufferLike;
  readonly off: number;
  len: number;
}

export class PoolHasher implements StreamHasher {
  readonly #lib: Sha256Native;
  readonly #ctx = Buffer.alloc(SHA256_CTX_BYTES);
  /** Made at the first plain chunk (an upstream read into shared slabs never needs it). */
  #ring: Buffer | undefined;
  readonly #queue: Span[] = [];
  /** The span being hashed now (kept referenced until its call returns). */
  #inFlight: Buffer | undefined;
  #waiters: (() => void)[] = [];
  #bytes = 0;
  #hashed = 0;
  #ringIn = 0;
  #error: Error | undefined;
  #closed = false;

  constructor(lib: Sha256Native) {
    this.#lib = lib;
    if (lib.init(this.#ctx) !== 1) throw new Error('SHA256_Init failed');
  }

  hashed(): number {
    return this.#hashed;
  }

  update(chunk: Buffer): Promise<void> | undefined {
    if (this.#error) return Promise.reject(this.#error);
    if (!chunk.length) return undefined;
    if (this.#bytes - this.#hashed + chunk.length <= QUEUED) {
      this.#add(chunk);
      return undefined;
    }
    return this.#slowUpdate(chunk);
  }

  async #slowUpdate(chunk: Buffer): Promise<void> {
    for (let off = 0; off < chunk.length; ) {
      const n = Math.min(chunk.length - off, QUEUED / 4);
      while (this.#bytes - this.#hashed + n > QUEUED) {
        await this.#next();
        if (this.#error) throw this.#error;
      }
      this.#add(chunk.subarray(off, off + n));
      off += n;
    }
  }

  #add(chunk: Buffer): void {
    if (chunk.buffer instanceof SharedArrayBuffer) this.#enqueue(chunk.buffer, chunk.byteOffset, chunk.length);
    else {
      this.#ring ??= Buffer.allocUnsafeSlow(QUEUED);
      const ring = this.#ring;
      this.#ringIn = copyIntoRing(chunk, ring, this.#ringIn, (at, n) =>
        this.#enqueue(ring.buffer, ring.byteOffset + at, n),
      );
    }
    this.#bytes += chunk.length;
    this.#pump();
  }

  #enqueue(ab: ArrayBufferLike, off: number, len: number): void {
    const last = this.#queue.at(-1);
    if (last && last.ab === ab && last.off + last.len === off && last.len + len <= MAX_CALL) last.len += len;
    else this.#queue.push({ ab, off, len });
  }

  #pump(): void {
    if (this.#inFlight || this.#closed || this.#error) return;
    const s = this.#queue.shift();
    if (!s) return;
    const view = Buffer.from(s.ab, s.off, s.len);
    this.#inFlight = view;
    this.#lib.update.async(this.#ctx, view, s.len, (err, ok) => {
      this.#inFlight = undefined;
      if (this.#closed) return;
      if (err || ok !== 1) this.#error = err instanceof Error ? err : new Error('SHA256_Update failed');
      else this.#hashed += s.len;
      this.#pump();
      for (const w of this.#waiters.splice(0)) w();
    });
  }

  /** Resolves after the next call returns. */
  #next(): Promise<void> {
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  async digest(): Promise<string> {
    while (!this.#error && (this.#inFlight || this.#queue.length)) await this.#next();
    if (this.#error) throw this.#error;
    const md = Buffer.alloc(32);
    if (this.#lib.final(md, this.#ctx) !== 1) throw new Error('SHA256_Final failed');
    return md.toString('hex');
  }

  close(): void {
    this.#closed = true;
    this.#error ??= new Error('the hash was stopped');
    this.#queue.length = 0;
    for (const w of this.#waiters.splice(0)) w();
  }
}
