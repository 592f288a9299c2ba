// Reusable read slabs for one big byte stream (an image coming from an upstream). Reading a GiB into
// fresh 4 MiB buffers made V8 count a GiB of new external memory, and it answered with a full
// mark-compact every ~64 MB (45 of them in one 1 GiB pull, a third of a core in GC threads). A pool
// hands the same slabs out again once every byte lent out of them came back.
//
// The rule that keeps bytes from being overwritten under a reader: a slab is reused only when it is
// sealed (the socket reads into another one now) and every byte lent out of it was given back by
// its one consumer with giveBack(). Bytes lent and never given back (a consumer that copies, drops or
// fails) just keep their slab out of the pool until the garbage collector takes it: the failure mode
// is the old allocation pattern, never a slab reused too early. A consumer gives back only bytes it
// got from the stream itself, each byte once, and only when nothing reads them any more; anyone else
// holding on to lent bytes (a socket write of them) retains them first and gives them back after.

interface SlabState {
  readonly pool: SlabPool;
  readonly slab: Buffer;
  /** Bytes lent out of this slab and not given back yet. */
  pending: number;
  /** The reader moved on to another slab: nothing more is read into this one. */
  sealed: boolean;
  /** More was given back than lent at some point (a consumer bug): never reused. */
  poisoned: boolean;
}

const states = new WeakMap<ArrayBufferLike, SlabState>();

/** Process-wide: slabs handed out again instead of allocated (tests and benches read it). */
export const slabStats = { reused: 0 };

export class SlabPool {
  readonly size: number;
  readonly #keep: number;
  readonly #alloc: (size: number) => Buffer;
  readonly #free: Buffer[] = [];
  #drained = false;

  /**
   * Slabs of `size` bytes; at most `keep` free ones are kept for reuse. `alloc` must return a buffer
   * that is the only view of its own ArrayBuffer's bytes (an aligned window into one is fine).
   */
  constructor(size: number, keep: number, alloc: (size: number) => Buffer = Buffer.allocUnsafeSlow) {
    this.size = size;
    this.#keep = keep;
    this.#alloc = alloc;
  }

  /** A slab to read into (its own ArrayBuffer, never Node's shared small-buffer pool). */
  take(): Buffer {
    const reused = this.#free.pop();
    if (reused) slabStats.reused++;
    const slab = reused ?? this.#alloc(this.size);
    states.set(slab.buffer, { pool: this, slab, pending: 0, sealed: false, poisoned: false });
    return slab;
  }

  /** `view` (bytes of one of this pool's slabs) goes to the consumer. */
  lend(view: Uint8Array): void {
    const s = states.get(view.buffer);
    if (s?.pool === this) s.pending += view.byteLength;
  }

  /** `current` is done with (sealed); the slab to read into next. */
  next(current: Buffer): Buffer {
    this.seal(current);
    return this.take();
  }

  /** No more bytes are read into `slab`. */
  seal(slab: Buffer): void {
    const s = states.get(slab.buffer);
    if (s?.pool !== this || s.sealed) return;
    s.sealed = true;
    this.#maybeFree(s);
  }

  /** The stream ended: forget the free slabs, keep none from now on. */
  drain(): void {
    this.#drained = true;
    for (const slab of this.#free.splice(0)) states.delete(slab.buffer);
  }

  /** @internal giveBack() lands here. */
  returned(s: SlabState, bytes: number): void {
    s.pending -= bytes;
    if (s.pending < 0) s.poisoned = true;
    this.#maybeFree(s);
  }

  #maybeFree(s: SlabState): void {
    if (!s.sealed || s.pending > 0) return;
    states.delete(s.slab.buffer);
    if (s.poisoned) return;
    if (!this.#drained && this.#free.length < this.#keep) this.#free.push(s.slab);
  }
}

/**
 * One more reader of `view` (bytes still lent out, e.g. a socket write of them in flight): its slab is
 * not read into again until this is given back too. Call it while the bytes are still lent (not yet
 * given back by their consumer). A no-op for any other buffer.
 */
export function retain(view: Uint8Array): void {
  const s = states.get(view.buffer);
  if (s && !s.poisoned) s.pending += view.byteLength;
}

/**
 * The consumer (or a retainer) is done with `view`, bytes it got from a pooled stream: nothing reads
 * them any more. A no-op for any other buffer.
 */
export function giveBack(view: Uint8Array): void {
  const s = states.get(view.buffer);
  if (s) s.pool.returned(s, view.byteLength);
}
