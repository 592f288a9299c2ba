// `images import` through a running gateway: the CLI hashes the files (the fingerprint), then
// streams them back to back as the body of POST /1.0/images; the daemon verifies and commits.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { partsFor } from '../images/fill/importer.ts';
import type { ImageInfo } from '../images/types.ts';
import { errorFrom, type AdminClient } from './client.ts';

export interface UploadOptions {
  readonly public: boolean;
  readonly pinned: boolean;
  readonly onBytes?: (n: number) => void;
}

export async function uploadImage(gw: AdminClient, files: readonly string[], o: UploadOptions): Promise<ImageInfo> {
  const parts = await partsFor(files);
  const h = createHash('sha256');
  const sizes: number[] = [];
  for (const p of parts) {
    sizes.push((await stat(p.path)).size);
    for await (const c of createReadStream(p.path, { highWaterMark: 1024 * 1024 })) {
      h.update(c as Buffer);
      o.onBytes?.((c as Buffer).length);
    }
  }
  const query = new URLSearchParams({
    fingerprint: h.digest('hex'),
    parts: parts.map((p, i) => `${p.role}:${sizes[i]}`).join(','),
    public: o.public ? '1' : '0',
    pinned: o.pinned ? '1' : '0',
  });
  async function* body(): AsyncGenerator<Buffer> {
    for (const p of parts)
      for await (const c of createReadStream(p.path, { highWaterMark: 1024 * 1024 })) {
        o.onBytes?.((c as Buffer).length);
        yield c as Buffer;
      }
  }
  const total = sizes.reduce((n, s) => n + s, 0);
  const res = await gw.raw('POST', `/1.0/images?${query}`, Readable.from(body()), {
    Accept: 'application/json',
    'Content-Type': 'application/octet-stream',
    'Content-Length': String(total),
  });
  if (res.status >= 400) throw errorFrom(res);
  return JSON.parse(res.text) as ImageInfo;
}
