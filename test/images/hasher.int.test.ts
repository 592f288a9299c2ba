// The fill's sha256 off the main thread, both flavours (images/fill/hasher-pool.ts on the thread pool,
// the default; hasher.ts's Worker where node does not export OpenSSL's SHA-256): the same digest as
// node:crypto over the same bytes, whether chunks are plain buffers (copied into a ring, which wraps),
// views of shared slabs (hashed in place), both mixed, more entries than a queue holds, or chunks
// bigger than the whole queue; hashed() only grows and says when a shared chunk may change.
import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { sha256Native } from '../../src/identity/native.ts';
import { PoolHasher } from '../../src/images/fill/hasher-pool.ts';
import { type StreamHasher, streamHasher, WORKER_MIN_BYTES, workerHasher } from '../../src/images/fill/hasher.ts';

const MiB = 1024 * 1024;
const sha = (bufs: Buffer[]): string => {
  const h = createHash('sha256');
  for (const b of bufs) h.update(b);
  return h.digest('hex');
};
const shared = (b: Buffer): Buffer => {
  const s = Buffer.from(new SharedArrayBuffer(b.length));
  b.copy(s);
  return s;
};

it('this node exports OpenSSL SHA-256, so fills hash on the thread pool (no Worker)', () => {
  expect(sha256Native, 'node does not export SHA256_Init/Update/Final: fills fall back to a Worker').toBeDefined();
  expect(streamHasher(undefined)).toBeInstanceOf(PoolHasher);
});

for (const [flavour, make] of [
  ['thread pool', () => streamHasher(undefined)],
  ['worker', workerHasher],
] as [string, () => StreamHasher][])
  describe(`hash off the main thread (${flavour})`, () => {
    /** Feed chunks in order, awaiting only when the hasher asks to. */
    async function digestOf(chunks: Buffer[]): Promise<{ digest: string; hashed: number[] }> {
      const h = make();
      const hashed: number[] = [];
      for (const c of chunks) {
        const w = h.update(c);
        if (w) await w;
        hashed.push(h.hashed());
      }
      const digest = await h.digest();
      hashed.push(h.hashed());
      return { digest, hashed };
    }

    it('plain chunks of odd sizes, wrapping the ring several times, and one bigger than the whole queue', async () => {
      const chunks = [randomBytes(7), randomBytes(3 * MiB + 1), randomBytes(40 * MiB + 3), randomBytes(65_536)];
      for (let i = 0; i < 40; i++) chunks.push(randomBytes(MiB - i));
      const { digest, hashed } = await digestOf(chunks);
      expect(digest).toBe(sha(chunks));
      expect(hashed.at(-1)).toBe(chunks.reduce((n, c) => n + c.length, 0));
      for (let i = 1; i < hashed.length; i++) expect(hashed[i]!).toBeGreaterThanOrEqual(hashed[i - 1]!);
    });

    it('views of shared slabs hashed in place, several slabs, mixed with plain chunks', async () => {
      const slabs = Array.from({ length: 6 }, () => shared(randomBytes(4 * MiB)));
      const chunks: Buffer[] = [];
      for (const s of slabs) {
        for (let at = 0; at < s.length; ) {
          const n = Math.min(s.length - at, 200_000 + (at % 7));
          chunks.push(s.subarray(at, at + n));
          at += n;
        }
        chunks.push(randomBytes(1000)); // a plain one between slabs
      }
      const { digest } = await digestOf(chunks);
      expect(digest).toBe(sha(chunks));
    });

    it('more queue entries than the queue holds (tiny shared chunks)', async () => {
      const s = shared(randomBytes(2 * MiB));
      const chunks: Buffer[] = [];
      for (let at = 0; at < s.length; at += 97) chunks.push(s.subarray(at, Math.min(s.length, at + 97)));
      expect(chunks.length).toBeGreaterThan(10_000);
      const { digest } = await digestOf(chunks);
      expect(digest).toBe(sha(chunks));
    });

    it('a shared chunk may change once hashed() passed it (and only then is it not read again)', async () => {
      const h = make();
      const s = shared(randomBytes(8 * MiB));
      const want = sha([s]);
      const w = h.update(s);
      if (w) await w;
      while (h.hashed() < s.length) await new Promise((r) => setImmediate(r));
      s.fill(0); // the caller reuses the slab
      expect(await h.digest()).toBe(want);
    });

    it('a hasher that went idle between small updates still hashes them all', async () => {
      const h = make();
      const chunks = [randomBytes(1000), randomBytes(70_000), shared(randomBytes(3000))];
      for (const c of chunks) {
        h.update(c);
        // Long enough for the worker to finish what it had and go to sleep.
        for (
          let i = 0;
          i < 20 && h.hashed() < chunks.slice(0, chunks.indexOf(c) + 1).reduce((n, x) => n + x.length, 0);
          i++
        )
          await new Promise((r) => setTimeout(r, 5));
      }
      expect(await h.digest()).toBe(sha(chunks));
      expect(h.hashed()).toBe(74_000);
    });

    it('a plain chunk may be reused as soon as update() returns (it was copied)', async () => {
      const h = make();
      const b = randomBytes(5 * MiB);
      const want = sha([b]);
      const w = h.update(b);
      b.fill(7);
      if (w) await w;
      expect(await h.digest()).toBe(want);
    });

    it('close() while a caller waits for room ends the wait with an error (never hangs)', async () => {
      const h = make();
      const s = shared(randomBytes(64 * MiB));
      const w = h.update(s); // more than the queue: waits for room
      h.close();
      if (w) await expect(w).rejects.toThrow();
    });

    it('small known sizes hash inline, with the same answers', async () => {
      const h = streamHasher(WORKER_MIN_BYTES - 1);
      const b = randomBytes(1000);
      h.update(b);
      expect(h.hashed()).toBe(1000);
      expect(await h.digest()).toBe(sha([b]));
    });
  });
