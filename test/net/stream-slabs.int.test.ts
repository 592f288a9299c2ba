// The streaming GET's slab placement (net/http-client-stream.ts) with an aligned allocator: after the
// slab that held the response head, every body byte sits at an address congruent to its body offset
// modulo the alignment, and slabs end on aligned body offsets, so the body's own memory can be written
// with O_DIRECT. Checked against a server that writes an odd-length head and the body in odd pieces;
// the bytes must be exact either way, and with slabs given back they must be read into again.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { ALIGN, DIRECT_SLABS, directSegments } from '../../src/images/fill/direct.ts';
import { bufferAddress } from '../../src/identity/native.ts';
import { streamGetUnix } from '../../src/net/http-client-stream.ts';
import { giveBack, slabStats } from '../../src/util/slabs.ts';

let dir: string;
let server: net.Server | undefined;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gg-slabs-'));
});
afterEach(async () => {
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  await rm(dir, { recursive: true, force: true });
});

/** A server answering one GET with `body` (Content-Length), written in pieces of the given sizes. */
async function serve(body: Buffer, pieces: number[]): Promise<string> {
  const socket = join(dir, 'up.sock');
  server = net.createServer((c) => {
    c.once('data', async () => {
      c.write(
        `HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nX-Pad: ${'p'.repeat(37)}\r\nContent-Length: ${body.length}\r\n\r\n`,
      );
      let at = 0;
      for (let i = 0; at < body.length; i++) {
        const n = Math.min(pieces[i % pieces.length]!, body.length - at);
        if (!c.write(body.subarray(at, at + n))) await new Promise((r) => c.once('drain', r));
        at += n;
      }
      c.end();
    });
  });
  await new Promise<void>((r) => server!.listen(socket, r));
  return socket;
}

it('aligned slabs: body offsets and addresses agree modulo the alignment after the first slab; bytes exact; slabs reused', async () => {
  const body = randomBytes(40 * 1024 * 1024 + 777);
  const socket = await serve(body, [229_376, 65_536 + 3, 1_048_576, 4093]);
  const reused0 = slabStats.reused;
  const res = await streamGetUnix(socket, '/x', { where: 'test', slabs: DIRECT_SLABS });
  const views: { at: number; v: Buffer }[] = [];
  const held: Buffer[] = [];
  let at = 0;
  const got = Buffer.alloc(body.length);
  for await (const v of res.body) {
    v.copy(got, at);
    views.push({ at, v });
    at += v.length;
    held.push(v);
    if (held.length > 32) giveBack(held.shift()!);
  }
  expect(at).toBe(body.length);
  expect(got.equals(body)).toBe(true);
  expect(res.complete).toBe(true);
  expect(slabStats.reused - reused0).toBeGreaterThan(0);

  // The head's read: its body bytes come as a view of the joined head (a copy), then of the slab it was read into.
  const early = new Set([views[0]!.v.buffer, views[1]!.v.buffer]);
  const later = views.filter((x) => !early.has(x.v.buffer));
  expect(later.length).toBeGreaterThan(views.length / 2);
  for (const { at: pos, v } of later)
    expect(Number(bufferAddress(v) % BigInt(ALIGN)), `body offset ${pos}`).toBe(pos % ALIGN);
  // From the first aligned slab on, the body between two aligned offsets is writable as it is.
  const from = Math.ceil(later[0]!.at / ALIGN) * ALIGN;
  const last = later.at(-1)!;
  const to = Math.floor((last.at + last.v.length) / ALIGN) * ALIGN;
  const stretch = later
    .filter(({ at: p, v }) => p + v.length > from && p < to)
    .map(({ at: p, v }) => v.subarray(Math.max(0, from - p), Math.min(v.length, to - p)));
  expect(to - from).toBeGreaterThan(30 * 1024 * 1024);
  const segments = directSegments(stretch);
  expect(segments, 'aligned segments').toBeDefined();
  // Joined per slab: about one segment per 4 MiB, not one per read.
  expect(segments!.length).toBeLessThan(stretch.length / 4);
});

it('without an aligned allocator the body is just as exact', async () => {
  const body = randomBytes(9 * 1024 * 1024 + 5);
  const socket = await serve(body, [100_000, 7]);
  const res = await streamGetUnix(socket, '/x', { where: 'test' });
  const parts: Buffer[] = [];
  for await (const v of res.body) parts.push(Buffer.from(v));
  expect(Buffer.concat(parts).equals(body)).toBe(true);
});
