// The fill's sha256 worker (images/fill/hasher.ts): the same digest as node:crypto over the same bytes,
// whether chunks are plain buffers (copied into its ring, which wraps), views of shared slabs (hashed
// in place, each slab announced to the worker once), both mixed, more entries than its queue holds,
// or chunks bigger than its whole queue; hashed() only grows and says when a shared chunk may change.
import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { streamHasher, WORKER_MIN_BYTES } from '../../src/images/fill/hasher.ts';

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

/** Feed chunks in order, awaiting only when the hasher asks to. */
async function digestOf(chunks: Buffer[]): Promise<{ digest: string; hashed: number[] }> {
  const h = streamHasher(undefined); // unknown size: the worker
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

describe('hash worker', () => {
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
    const h = streamHasher(undefined);
    const s = shared(randomBytes(8 * MiB));
    const want = sha([s]);
    const w = h.update(s);
    if (w) await w;
    while (h.hashed() < s.length) await new Promise((r) => setImmediate(r));
    s.fill(0); // the caller reuses the slab
    expect(await h.digest()).toBe(want);
  });

  it('a worker that fell asleep between small updates still hashes them all (woken at the end)', async () => {
    const h = streamHasher(undefined);
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

  it('small known sizes hash inline, with the same answers', async () => {
    const h = streamHasher(WORKER_MIN_BYTES - 1);
    const b = randomBytes(1000);
    h.update(b);
    expect(h.hashed()).toBe(1000);
    expect(await h.digest()).toBe(sha([b]));
  });
});
