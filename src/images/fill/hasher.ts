// sha256 of a stream, off the main thread: chunks are copied into a shared ring that a worker
// hashes, so the thread reading the upstream socket keeps draining it while the digest is computed
// (in series, hashing held the socket up and the upstream waited). Small inputs hash inline.
import { createHash, type Hash } from 'node:crypto';
import { Worker } from 'node:worker_threads';

export interface StreamHasher {
  /** Resolves at once unless the ring is full (then once the worker made room). */
  update(chunk: Buffer): Promise<void> | undefined;
  digest(): Promise<string>;
  /** Stop without a digest (an aborted fill). */
  close(): void;
}

/** Inputs at least this big (or of unknown size) are hashed in a worker. */
export const WORKER_MIN_BYTES = 16 * 1024 * 1024;
const RING = 16 * 1024 * 1024;

// ctrl (BigInt64): [0] bytes copied in, [1] bytes hashed, [2] change counter, [3] 1 = no more input.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const buf = Buffer.from(workerData.ring);
const c = new BigInt64Array(workerData.ctrl);
const size = BigInt(buf.length);
const h = createHash('sha256');
let hashed = 0n;
for (;;) {
  const seq = Atomics.load(c, 2);
  const w = Atomics.load(c, 0);
  if (w === hashed) {
    if (Atomics.load(c, 3) !== 0n) break;
    Atomics.wait(c, 2, seq);
    continue;
  }
  const from = Number(hashed % size);
  const n = Math.min(Number(w - hashed), buf.length - from);
  h.update(buf.subarray(from, from + n));
  hashed += BigInt(n);
  Atomics.store(c, 1, hashed);
  Atomics.notify(c, 1);
}
parentPort.postMessage(h.digest('hex'));
`;

class InlineHasher implements StreamHasher {
  readonly #h: Hash = createHash('sha256');
  update(chunk: Buffer): undefined {
    this.#h.update(chunk);
  }
  async digest(): Promise<string> {
    return this.#h.digest('hex');
  }
  close(): void {}
}

class WorkerHasher implements StreamHasher {
  readonly #ring = new SharedArrayBuffer(RING);
  readonly #buf = Buffer.from(this.#ring);
  readonly #ctrl = new BigInt64Array(new SharedArrayBuffer(32));
  readonly #worker: Worker;
  readonly #result: Promise<string>;
  #in = 0n;

  constructor() {
    this.#worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { ring: this.#ring, ctrl: this.#ctrl.buffer } });
    this.#result = new Promise((resolve, reject) => {
      this.#worker.once('message', resolve);
      this.#worker.once('error', reject);
      this.#worker.once('exit', (code) => reject(new Error(`hash worker exited (${code})`)));
    });
    this.#result.catch(() => {});
  }

  update(chunk: Buffer): Promise<void> | undefined {
    const room = RING - Number(this.#in - Atomics.load(this.#ctrl, 1));
    if (chunk.length <= room) {
      this.#copy(chunk);
      return undefined;
    }
    return this.#slowUpdate(chunk);
  }

  async #slowUpdate(chunk: Buffer): Promise<void> {
    let off = 0;
    while (off < chunk.length) {
      const hashed = Atomics.load(this.#ctrl, 1);
      const room = RING - Number(this.#in - hashed);
      if (room === 0) {
        const w = Atomics.waitAsync(this.#ctrl, 1, hashed);
        if (w.async) await w.value;
        continue;
      }
      const n = Math.min(room, chunk.length - off);
      this.#copy(chunk.subarray(off, off + n));
      off += n;
    }
  }

  #copy(chunk: Buffer): void {
    let at = Number(this.#in % BigInt(RING));
    let off = 0;
    while (off < chunk.length) {
      const n = Math.min(chunk.length - off, RING - at);
      chunk.copy(this.#buf, at, off, off + n);
      off += n;
      at = (at + n) % RING;
    }
    this.#in += BigInt(chunk.length);
    Atomics.store(this.#ctrl, 0, this.#in);
    this.#bump();
  }

  #bump(): void {
    Atomics.add(this.#ctrl, 2, 1n);
    Atomics.notify(this.#ctrl, 2);
  }

  digest(): Promise<string> {
    Atomics.store(this.#ctrl, 3, 1n);
    this.#bump();
    return this.#result;
  }

  close(): void {
    void this.#worker.terminate();
  }
}

/** A hasher for an input of `size` bytes (undefined: unknown). */
export const streamHasher = (size: number | undefined): StreamHasher =>
  size !== undefined && size < WORKER_MIN_BYTES ? new InlineHasher() : new WorkerHasher();
