// A fill's in-memory bytes go to the guest in one socket write per batch, also when the response is
// chunked (a split image's multipart body): Node's chunked uncork() writes each piece of a chunk to the
// socket separately unless the socket itself is corked (an LXD multipart upstream's 32 KiB pieces made
// that 17 syscalls per half MiB). Counted at the socket, on a real unix-socket HTTP exchange.
import http from 'node:http';
import { mkdtemp, open, rm } from 'node:fs/promises';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { sendRange } from '../../src/images/export/send.ts';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gg-writes-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

it.each([['chunked'], ['content-length']] as const)('%s: 64 held pieces leave in one socket write', async (mode) => {
  const pieces = Array.from({ length: 64 }, (_, i) => Buffer.alloc(8192, i));
  const total = pieces.length * 8192;
  const fh = await open(join(dir, 'empty'), 'w+');
  let socketWrites = 0;
  const server = http.createServer(async (_req, res) => {
    res.writeHead(200, mode === 'chunked' ? { 'Transfer-Encoding': 'chunked' } : { 'Content-Length': String(total) });
    res.flushHeaders();
    const sock = res.socket as Socket & { _write: (...a: unknown[]) => void; _writev: (...a: unknown[]) => void };
    for (const k of ['_write', '_writev'] as const) {
      const orig = sock[k].bind(sock);
      sock[k] = (...a: unknown[]) => {
        socketWrites++;
        orig(...a);
      };
    }
    let served = false;
    await sendRange(
      res,
      {
        fh,
        available: async (pos) => Math.max(pos, total),
        held: (pos) => {
          if (served || pos !== 0) return [];
          served = true;
          return pieces;
        },
        onDisk: () => 0,
      },
      0,
      total,
      new AbortController().signal,
    );
    res.end();
  });
  const sock = join(dir, 's.sock');
  await new Promise<void>((r) => server.listen(sock, r));
  const body = await new Promise<Buffer>((resolve, reject) => {
    http
      .get({ socketPath: sock, path: '/', headers: { connection: 'close' } }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve(Buffer.concat(chunks)));
      })
      .on('error', reject);
  });
  await new Promise((r) => server.close(r));
  await fh.close();
  expect(body.equals(Buffer.concat(pieces))).toBe(true);
  // The pieces' write, plus at most the response's end.
  expect(socketWrites).toBeLessThanOrEqual(2);
});
