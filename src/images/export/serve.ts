// The HTTP side of an export: headers exactly as LXD sends them, then the bytes. Two sources:
// a committed image (open blob descriptors; Range/conditionals honoured) or a fill in progress
// (bytes streamed as they arrive). Rule: anything that fails before the status line throws; after
// it, the socket is destroyed so the guest sees a truncated transfer.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FileHandle } from 'node:fs/promises';
import { GuestgateError } from '../../errors.ts';
import { contentRange, imageEtag, planResponse, reprDigest } from './conditional.ts';
import { partFileName, unifiedDisposition } from './disposition.ts';
import type { Fill } from '../fill/fill.ts';
import type { ManifestPart, PartRole } from '../store/manifest.ts';
import {
  closingBoundary,
  imageBoundary,
  layoutSize,
  multipartContentType,
  partHeader,
  splitLayout,
  type Segment,
} from './multipart.ts';
import { sendRange, type ByteSource } from './send.ts';
import { sendFileRange } from './sendfile.ts';

export interface ServeOptions {
  readonly signal: AbortSignal;
  readonly extraHeaders?: Readonly<Record<string, string>> | undefined;
}

export interface OpenImage {
  readonly fingerprint: string;
  readonly kind: 'unified' | 'split';
  readonly parts: readonly (Pick<ManifestPart, 'role' | 'size' | 'ext'> & { readonly fh: FileHandle })[];
  readonly lastModified: Date;
  /** sha256 (hex) of a split image's full multipart response, when known (its Repr-Digest). */
  readonly bodyDigest?: string | undefined;
}

const header = (h: string | string[] | undefined): string | undefined => (Array.isArray(h) ? h[0] : h);

/** Serve an image whose bytes are complete and verified: conditionals and one Range, unified or split. */
export async function serveComplete(
  req: IncomingMessage,
  res: ServerResponse,
  img: OpenImage,
  o: ServeOptions,
): Promise<void> {
  const fp = img.fingerprint;
  const unified = img.kind === 'unified';
  const boundary = imageBoundary(fp);
  const layout: Segment[] = unified ? [{ part: 0, size: img.parts[0]!.size }] : splitLayout(fp, boundary, img.parts);
  const size = layoutSize(layout);
  const etag = imageEtag(fp);
  const plan = planResponse({
    method: req.method ?? 'GET',
    size,
    lastModified: img.lastModified,
    range: header(req.headers.range),
    ifModifiedSince: header(req.headers['if-modified-since']),
    ifUnmodifiedSince: header(req.headers['if-unmodified-since']),
    ifRange: header(req.headers['if-range']),
    etag,
    ifMatch: header(req.headers['if-match']),
    ifNoneMatch: header(req.headers['if-none-match']),
  });
  const base = { ...o.extraHeaders, ETag: etag };
  const lastModified = img.lastModified.toUTCString();
  // Go's writeNotModified: no Last-Modified next to an ETag on a 304.
  if (plan.status === 304) return void res.writeHead(304, base).end();
  if (plan.status === 412) return void res.writeHead(412, { ...base, 'Last-Modified': lastModified }).end();
  if (plan.status === 416) {
    res
      .writeHead(416, {
        ...base,
        'Last-Modified': lastModified,
        'Content-Range': `bytes */${size}`,
        'Content-Type': 'text/plain; charset=utf-8',
      })
      .end('invalid range: failed to overlap\n');
    return;
  }
  const digest = unified ? fp : img.bodyDigest;
  const headers: Record<string, string> = {
    ...base,
    'Accept-Ranges': 'bytes',
    ...(digest ? { 'Repr-Digest': reprDigest(digest) } : {}),
  };
  if (unified) {
    headers['Last-Modified'] = lastModified;
    headers['Content-Type'] = 'application/octet-stream';
    headers['Content-Disposition'] = unifiedDisposition(fp, img.parts[0]!.ext);
  } else headers['Content-Type'] = multipartContentType(boundary);
  // A whole split body goes chunked, as LXD sends it; a part of it has a length.
  if (unified || plan.status === 206) headers['Content-Length'] = String(plan.end - plan.start);
  else headers['Transfer-Encoding'] = 'chunked';
  if (plan.status === 206) headers['Content-Range'] = contentRange(plan.start, plan.end, size);
  res.writeHead(plan.status, headers);
  if (req.method === 'HEAD') return void res.end();
  const chunked = headers['Transfer-Encoding'] === 'chunked';
  await afterStatus(res, () => sendLayout(res, layout, img.parts, plan.start, plan.end, chunked, o.signal));
}

/** Bytes [start, end) of a body laid out as segments; the files' bytes by sendfile(2) (sendfile.ts). */
async function sendLayout(
  res: ServerResponse,
  layout: readonly Segment[],
  parts: OpenImage['parts'],
  start: number,
  end: number,
  chunked: boolean,
  signal: AbortSignal,
): Promise<void> {
  let at = 0;
  for (const seg of layout) {
    const from = Math.max(start, at);
    const to = Math.min(end, at + seg.size);
    if (from < to) {
      if ('bytes' in seg) res.write(seg.bytes.subarray(from - at, to - at));
      else {
        const fh = parts[seg.part]!.fh;
        if (!(await sendFileRange(res, fh, from - at, to - at, signal, chunked)))
          await sendRange(res, { fh }, from - at, to - at, signal);
      }
    }
    at += seg.size;
    if (at >= end) break;
  }
}

interface LivePart {
  role: PartRole;
  ext: string;
  src: ByteSource;
  end: number;
}

/** A fill's split image: multipart/form-data, body chunked; parts are resolved one after the other. */
async function serveMultipart(
  req: IncomingMessage,
  res: ServerResponse,
  fp: string,
  o: ServeOptions,
  count: number,
  part: (i: number) => Promise<LivePart>,
): Promise<void> {
  const first = await part(0); // before the status line: may still throw
  const boundary = imageBoundary(fp);
  res.writeHead(200, {
    ...o.extraHeaders,
    ETag: imageEtag(fp),
    'Accept-Ranges': 'bytes',
    'Content-Type': multipartContentType(boundary),
    'Transfer-Encoding': 'chunked',
  });
  if (req.method === 'HEAD') return void res.end();
  await afterStatus(res, async () => {
    for (let i = 0; i < count; i++) {
      const p = i === 0 ? first : await part(i);
      res.write(partHeader(boundary, i, p.role, partFileName(fp, p.role, p.ext)));
      await sendRange(res, p.src, 0, p.end, o.signal);
    }
    res.write(closingBoundary(boundary));
  });
}

/** Stream a fill in progress. Only for plain GETs where the whole image is wanted. */
export async function serveFilling(
  req: IncomingMessage,
  res: ServerResponse,
  fill: Fill,
  o: ServeOptions,
): Promise<void> {
  const fp = fill.fingerprint;
  // Waits until part i exists and its extension is known; throws if the fill failed first.
  const partReady = async (i: number): Promise<LivePart> => {
    for (;;) {
      if (fill.state === 'failed')
        throw fill.error ?? new GuestgateError('E_UPSTREAM', 'fill failed', { fingerprint: fp });
      const p = fill.parts[i];
      if (p && p.ext !== undefined) {
        const src: ByteSource = {
          fh: p.fh,
          available: async (pos) => {
            for (;;) {
              if (fill.state === 'failed')
                throw fill.error ?? new GuestgateError('E_UPSTREAM', 'fill failed', { fingerprint: fp });
              const n = fill.readable(i);
              if (n > pos) return n;
              const part = fill.parts[i];
              if (part?.ended && n === part.accepted) return n; // end of this part
              await fill.changed();
            }
          },
          held: (pos, end, max) => fill.held(i, pos, end, max),
          onDisk: () => fill.onDisk(i),
        };
        // The end is known only once the part ended (or was announced): resolve lazily.
        // Unannounced size (multipart upstream): stream until `available` reports the part's end.
        const end = p.size ?? Infinity;
        return { role: p.role, ext: p.ext, src, end };
      }
      await fill.changed();
    }
  };
  if (!fill.kind) await waitFor(fill, () => fill.kind !== undefined);
  if (fill.kind === 'unified') {
    const first = await partReady(0);
    res.writeHead(200, {
      ...o.extraHeaders,
      ETag: imageEtag(fp),
      // The fill checks sha256 before the last byte leaves: a transfer that completes has this digest.
      'Repr-Digest': reprDigest(fp),
      'Last-Modified': fill.lastModified.toUTCString(),
      'Accept-Ranges': 'bytes',
      'Content-Type': 'application/octet-stream',
      'Content-Disposition': unifiedDisposition(fp, first.ext),
      'Content-Length': String(first.end),
    });
    await afterStatus(res, async () => sendRange(res, first.src, 0, first.end, o.signal));
    return;
  }
  await serveMultipart(req, res, fp, o, 2, partReady);
}

async function waitFor(fill: Fill, cond: () => boolean): Promise<void> {
  while (!cond()) {
    if (fill.state === 'failed')
      throw fill.error ?? new GuestgateError('E_UPSTREAM', 'fill failed', { fingerprint: fill.fingerprint });
    await fill.changed();
  }
}

/** After the status line an error cannot be reported: cut the connection so the transfer looks truncated. */
async function afterStatus(res: ServerResponse, body: () => Promise<void>): Promise<void> {
  try {
    await body();
    await new Promise<void>((resolve) => res.end(resolve));
  } catch (e) {
    res.destroy();
    throw e;
  }
}
