// ETag, If-None-Match, Repr-Digest, Range and If-Range over a real unix socket, unified and split, and
// the point of it all: an interrupted pull resumed with Range + If-Range whose bytes hash to the
// fingerprint.
import { createHash } from 'node:crypto';
import http from 'node:http';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { splitImage, unifiedImage, writeToDir, type MadeImage } from '../../fixtures/images/make.ts';
import type { ImageService } from '../../src/images/index.ts';
import { exportServer, get, nestedClientAccepts, service, tempDir, type ExportServer } from '../helpers/images.ts';

let t: { dir: string; cleanup: () => Promise<void> };
let svc: ImageService;
let srv: ExportServer;
let upstreamDir: string;
const path = (fp: string): string => `/1.0/images/${fp}/export`;
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
const b64 = (hex: string): string => Buffer.from(hex, 'hex').toString('base64');

beforeEach(async () => {
  t = await tempDir();
  upstreamDir = join(t.dir, 'lxd-images');
  await mkdir(upstreamDir);
  svc = await service(join(t.dir, 'state'), { upstreams: [{ type: 'dir', path: upstreamDir, public: true }] });
  srv = await exportServer(svc, join(t.dir, 'export.sock'));
});
afterEach(async () => {
  await srv?.close();
  await svc?.close();
  await t.cleanup();
});

/** A GET the client cuts once more than `after` bytes arrived: what it got by then. */
function interrupted(fp: string, after: number): Promise<{ body: Buffer; complete: boolean }> {
  return new Promise((resolve, reject) => {
    const req = http.get({ socketPath: srv.socket, path: path(fp), headers: { host: 'unix.socket' } }, (res) => {
      const chunks: Buffer[] = [];
      let n = 0;
      res.on('data', (c: Buffer) => {
        chunks.push(c);
        n += c.length;
        if (n > after) {
          res.destroy();
          resolve({ body: Buffer.concat(chunks), complete: false });
        }
      });
      res.on('end', () => resolve({ body: Buffer.concat(chunks), complete: true }));
    });
    req.on('error', reject);
  });
}

describe('unified image', () => {
  let img: MadeImage;
  beforeEach(async () => {
    img = await unifiedImage(4 * 1024 * 1024);
    await writeToDir(upstreamDir, img);
  });

  it('ETag and Repr-Digest on cold and warm full responses; If-None-Match answers 304', async () => {
    const etag = `"${img.fingerprint}"`;
    for (const r of [await get(srv.socket, path(img.fingerprint)), await get(srv.socket, path(img.fingerprint))]) {
      expect(r.status).toBe(200);
      expect(r.headers.etag).toBe(etag);
      expect(r.headers['repr-digest']).toBe(`sha-256=:${b64(img.fingerprint)}:`);
      expect(sha(r.body)).toBe(img.fingerprint);
    }
    const nm = await get(srv.socket, path(img.fingerprint), { headers: { 'if-none-match': `"other", ${etag}` } });
    expect(nm.status).toBe(304);
    expect(nm.body.length).toBe(0);
    expect(nm.headers.etag).toBe(etag);
    const other = await get(srv.socket, path(img.fingerprint), { headers: { 'if-none-match': '"other"' } });
    expect(other.status).toBe(200);
    expect(other.body.length).toBe(img.files[0]!.length);
    const im = await get(srv.socket, path(img.fingerprint), { headers: { 'if-match': '"other"' } });
    expect(im.status).toBe(412);
  });

  it('Range gives 206 with Content-Range, 416 past the end; If-Range with another ETag gives the whole image', async () => {
    const size = img.files[0]!.length;
    const r = await get(srv.socket, path(img.fingerprint), { headers: { range: 'bytes=100-199' } });
    expect(r.status).toBe(206);
    expect(r.headers['content-range']).toBe(`bytes 100-199/${size}`);
    expect(r.body.equals(img.files[0]!.subarray(100, 200))).toBe(true);
    const bad = await get(srv.socket, path(img.fingerprint), { headers: { range: `bytes=${size}-` } });
    expect(bad.status).toBe(416);
    expect(bad.headers['content-range']).toBe(`bytes */${size}`);
    const stale = await get(srv.socket, path(img.fingerprint), { headers: { range: 'bytes=0-9', 'if-range': '"x"' } });
    expect(stale.status).toBe(200);
    expect(stale.body.length).toBe(size);
  });

  it('an interrupted cold pull resumed with Range + If-Range hashes to the fingerprint', async () => {
    const first = await interrupted(img.fingerprint, 1024 * 1024);
    expect(first.complete).toBe(false);
    expect(first.body.length).toBeGreaterThan(0);
    expect(first.body.length).toBeLessThan(img.files[0]!.length);
    const rest = await get(srv.socket, path(img.fingerprint), {
      headers: { range: `bytes=${first.body.length}-`, 'if-range': `"${img.fingerprint}"` },
    });
    expect(rest.status).toBe(206);
    expect(rest.headers['repr-digest']).toBe(`sha-256=:${b64(img.fingerprint)}:`);
    expect(sha(Buffer.concat([first.body, rest.body]))).toBe(img.fingerprint);
  });
});

describe('split image', () => {
  let img: MadeImage;
  beforeEach(async () => {
    img = await splitImage(4 * 1024 * 1024);
    await writeToDir(upstreamDir, img);
  });

  it('every full response has the same bytes (boundary from the fingerprint), with the ETag', async () => {
    const cold = await get(srv.socket, path(img.fingerprint));
    const warm = await get(srv.socket, path(img.fingerprint));
    expect(cold.headers['content-type']).toBe(warm.headers['content-type']);
    expect(warm.body.equals(cold.body)).toBe(true);
    for (const r of [cold, warm]) {
      expect(r.headers.etag).toBe(`"${img.fingerprint}"`);
      expect(await nestedClientAccepts(r, img.fingerprint)).toMatchObject({ ok: true });
    }
  });

  it('a range is over the full multipart body; an interrupted pull resumed with If-Range is the whole body', async () => {
    const whole = await get(srv.socket, path(img.fingerprint));
    const r = await get(srv.socket, path(img.fingerprint), { headers: { range: 'bytes=0-99' } });
    expect(r.status).toBe(206);
    expect(r.headers['content-range']).toBe(`bytes 0-99/${whole.body.length}`);
    expect(r.body.equals(whole.body.subarray(0, 100))).toBe(true);
    const tail = await get(srv.socket, path(img.fingerprint), { headers: { range: 'bytes=-50' } });
    expect(tail.body.equals(whole.body.subarray(-50))).toBe(true);
    const bad = await get(srv.socket, path(img.fingerprint), { headers: { range: `bytes=${whole.body.length}-` } });
    expect(bad.status).toBe(416);

    await svc.remove(img.fingerprint);
    const first = await interrupted(img.fingerprint, 1024 * 1024);
    expect(first.complete).toBe(false);
    const rest = await get(srv.socket, path(img.fingerprint), {
      headers: { range: `bytes=${first.body.length}-`, 'if-range': `"${img.fingerprint}"` },
    });
    expect(rest.status).toBe(206);
    const joined = { ...whole, body: Buffer.concat([first.body, rest.body]) };
    expect(joined.body.equals(whole.body)).toBe(true);
    expect(await nestedClientAccepts(joined, img.fingerprint)).toMatchObject({ ok: true });
  });
});
