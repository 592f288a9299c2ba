// sha256 of a stream, off the main thread, so the thread reading the upstream socket keeps draining
// it while the digest is computed: on the thread pool (hasher-pool.ts) wherever node exports OpenSSL's
// SHA-256, else in a Worker, this file's. The worker reads a queue of (buffer, offset, length) entries:
// chunks whose memory is shared (slabs over a SharedArrayBuffer) are hashed where they are, each
// buffer sent to the worker once; any other chunk is first copied into a shared ring. The caller
// learns how far the worker got (hashed()), and must keep a shared chunk's bytes unchanged until
// then. Small inputs hash inline.
import { createHash, type Hash } from 'node:crypto';
import { Worker } from 'node:worker_threads';
import { sha256Native } from '../../identity/native.ts';
import { PoolHasher } from './hasher-pool.ts';
import { copyIntoRing } from './ring.ts';

export interface StreamHasher {
  /** Resolves at once unless too much is queued (then once the worker made room). */
  update(chunk: Buffer): Promise<void> | undefined;
  /** Bytes hashed so far (the first hashed() bytes given to update() are no longer read). */
  hashed(): number;
  digest(): Promise<string>;
  /** Stop without a digest (an aborted fill). */
  close(): void;
}

/** Inputs at least this big (or of unknown size) are hashed off the main thread. */
export const WORKER_MIN_BYTES = 16 * 1024 * 1024;
/** Bytes queued for the worker at most (and the size of the copy ring). */
const QUEUED = 16 * 1024 * 1024;
/** Queue entries (a 4 MiB slab arrives in reads of ~200 KiB and up). */
const ENTRIES = 4096;
/** Buffer id 0: the copy ring. */
const RING_ID = 0;

// ctrl (BigInt64, all through Atomics): [0] entries queued, [1] entries hashed, [2] bytes hashed,
// [3] 1 = no more input, [4] bumped when entries are queued (the worker waits on it), [5] bumped when
// the worker finished an entry (the main thread waits on it). Entries (Int32, 3 each): buffer id,
// offset, length; written before [0] is raised, so the worker reading [0] sees them.
const WORKER_SOURCE = `
const { parentPort, workerData, receiveMessageOnPort } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const c = new BigInt64Array(workerData.ctrl);
const e = new Int32Array(workerData.entries);
const n = e.length / 3;
const buffers = new Map([[0, Buffer.from(workerData.ring)]]);
const h = createHash('sha256');
let done = 0n;
let bytes = 0n;
for (;;) {
  const s = Atomics.load(c, 4);
  if (done === Atomics.load(c, 0)) {
    if (Atomics.load(c, 3) !== 0n) break;
    Atomics.wait(c, 4, s);
    continue;
  }
  const k = Number(done % BigInt(n)) * 3;
  const id = e[k];
  let buf = buffers.get(id);
  while (buf === undefined) {
    // A new shared buffer: its message was posted before its first entry was queued.
    const m = receiveMessageOnPort(parentPort);
    if (m) buffers.set(m.message.id, Buffer.from(m.message.sab));
    buf = buffers.get(id);
  }
  h.update(buf.subarray(e[k + 1], e[k + 1] + e[k + 2]));
  bytes += BigInt(e[k + 2]);
  done++;
  Atomics.store(c, 2, bytes);
  Atomics.store(c, 1, done);
  Atomics.add(c, 5, 1n);
  Atomics.notify(c, 5);
}
parentPort.postMessage(h.digest('hex'));
`;

class InlineHasher implements StreamHasher {
  readonly #h: Hash = createHash('sha256');
  #bytes = 0;
  update(chunk: Buffer): undefined {
    this.#h.update(chunk);
    this.#bytes += chunk.length;
  }
  hashed(): number {
    return this.#bytes;
  }
  async digest(): Promise<string> {
    return this.#h.digest('hex');
  }
  close(): void {}
}

class WorkerHasher implements StreamHasher {
  readonly #ring = Buffer.from(new SharedArrayBuffer(QUEUED));
  readonly #ctrl = new BigInt64Array(new SharedArrayBuffer(6 * 8));
  readonly #entries = new Int32Array(new SharedArrayBuffer(ENTRIES * 3 * 4));
  readonly #ids = new WeakMap<SharedArrayBuffer, number>();
  #nextId = RING_ID + 1;
  readonly #worker: Worker;
  readonly #result: Promise<string>;
  /** Bytes and entries queued so far; bytes copied into the ring so far. */
  #bytes = 0;
  #queued = 0;
  #ringIn = 0;
  #closed = false;

  constructor() {
    this.#worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: {
        ring: this.#ring.buffer,
        ctrl: this.#ctrl.buffer,
        entries: this.#entries.buffer,
      },
    });
    this.#result = new Promise((resolve, reject) => {
      this.#worker.once('message', resolve);
      this.#worker.once('error', reject);
      this.#worker.once('exit', (code) => reject(new Error(`hash worker exited (${code})`)));
    });
    this.#result.catch(() => {});
  }

  hashed(): number {
    return Number(Atomics.load(this.#ctrl, 2));
  }

  update(chunk: Buffer): Promise<void> | undefined {
    if (!chunk.length) return undefined;
    if (this.#room(chunk.length)) {
      this.#add(chunk);
      return undefined;
    }
    return this.#slowUpdate(chunk);
  }

  /** Whether `n` more bytes (and up to two entries) fit now. */
  #room(n: number): boolean {
    return (
      this.#bytes - this.hashed() + n <= QUEUED && this.#queued - Number(Atomics.load(this.#ctrl, 1)) + 2 <= ENTRIES
    );
  }

  async #slowUpdate(chunk: Buffer): Promise<void> {
    let off = 0;
    while (off < chunk.length) {
      const s = Atomics.load(this.#ctrl, 5);
      const n = Math.min(chunk.length - off, QUEUED / 4);
      if (this.#closed) throw new Error('the hash was stopped');
      if (!this.#room(n)) {
        const w = Atomics.waitAsync(this.#ctrl, 5, s);
        if (w.async) await w.value;
        continue;
      }
      this.#add(chunk.subarray(off, off + n));
      off += n;
    }
  }

  #add(chunk: Buffer): void {
    const sab = chunk.buffer instanceof SharedArrayBuffer ? chunk.buffer : undefined;
    if (sab) this.#enqueue(this.#idOf(sab), chunk.byteOffset, chunk.length);
    else this.#ringIn = copyIntoRing(chunk, this.#ring, this.#ringIn, (at, n) => this.#enqueue(RING_ID, at, n));
    this.#bytes += chunk.length;
    Atomics.store(this.#ctrl, 0, BigInt(this.#queued));
    this.#bump();
  }

  #bump(): void {
    Atomics.add(this.#ctrl, 4, 1n);
    Atomics.notify(this.#ctrl, 4);
  }

  #idOf(sab: SharedArrayBuffer): number {
    let id = this.#ids.get(sab);
    if (id === undefined) {
      id = this.#nextId++;
      this.#ids.set(sab, id);
      this.#worker.postMessage({ id, sab });
    }
    return id;
  }

  #enqueue(id: number, offset: number, length: number): void {
    const k = (this.#queued % ENTRIES) * 3;
    this.#entries[k] = id;
    this.#entries[k + 1] = offset;
    this.#entries[k + 2] = length;
    this.#queued++;
  }

  digest(): Promise<string> {
    Atomics.store(this.#ctrl, 3, 1n);
    this.#bump();
    return this.#result;
  }

  close(): void {
    this.#closed = true;
    void this.#worker.terminate();
    // Wake a caller waiting for room (the worker will not).
    Atomics.add(this.#ctrl, 5, 1n);
    Atomics.notify(this.#ctrl, 5);
  }
}

/**
 * A hasher for an input of `size` bytes (undefined: unknown): small ones inline, others on the thread
 * pool (hasher-pool.ts), or in a Worker where node does not export OpenSSL's SHA-256.
 */
export const streamHasher = (size: number | undefined): StreamHasher =>
  size !== undefined && size < WORKER_MIN_BYTES
    ? new InlineHasher()
    : sha256Native
      ? new PoolHasher(sha256Native)
      : new WorkerHasher();

/** The Worker flavour, whatever node exports (tests run both). */
export const workerHasher = (): StreamHasher => new WorkerHasher();
