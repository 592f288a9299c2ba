// The HTTP side of an export: headers exactly as LXD sends them, then the bytes. Two sources:
// a committed image (open blob descriptors; Range/conditionals honoured) or a fill in progress
// (bytes streamed as they arrive). Rule: anything that fails before the status line throws; after
// it, the socket is destroyed so the guest sees a truncated transfer.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FileHandle } from 'node:fs/promises';
import { GuestgateError } from '../../errors.ts';
import { contentRange, planResponse } from './conditional.ts';
import { partFileName, unifiedDisposition } from './disposition.ts';
import type { Fill } from '../fill/fill.ts';
import type { ManifestPart, PartRole } from '../store/manifest.ts';
import { closingBoundary, multipartContentType, partHeader, randomBoundary } from './multipart.ts';
import { sendRange, type ByteSource } from './send.ts';

export interface ServeOptions {
  readonly signal: AbortSignal;
  readonly extraHeaders?: Readonly<Record<string, string>> | undefined;
}

export interface OpenImage {
  readonly fingerprint: string;
  readonly kind: 'unified' | 'split';
  readonly parts: readonly (Pick<ManifestPart, 'role' | 'size' | 'ext'> & { readonly fh: FileHandle })[];
  readonly lastModified: Date;
}

const header = (h: string | string[] | undefined): string | undefined => (Array.isArray(h) ? h[0] : h);

/** Serve an image whose bytes are complete and verified. */
export async function serveComplete(
  req: IncomingMessage,
  res: ServerResponse,
  img: OpenImage,
  o: ServeOptions,
): Promise<void> {
  const lastModified = img.lastModified.toUTCString();
  if (img.kind === 'unified') {
    const part = img.parts[0]!;
    const plan = planResponse({
      method: req.method ?? 'GET',
      size: part.size,
      lastModified: img.lastModified,
      range: header(req.headers.range),
      ifModifiedSince: header(req.headers['if-modified-since']),
      ifUnmodifiedSince: header(req.headers['if-unmodified-since']),
      ifRange: header(req.headers['if-range']),
    });
    const base = { ...o.extraHeaders, 'Last-Modified': lastModified };
    if (plan.status === 304 || plan.status === 412) {
      res.writeHead(plan.status, base).end();
      return;
    }
    if (plan.status === 416) {
      res
        .writeHead(416, {
          ...base,
          'Content-Range': `bytes */${part.size}`,
          'Content-Type': 'text/plain; charset=utf-8',
        })
        .end('invalid range: failed to overlap\n');
      return;
    }
    res.writeHead(plan.status, {
      ...base,
      'Accept-Ranges': 'bytes',
      'Content-Type': 'application/octet-stream',
      'Content-Disposition': unifiedDisposition(img.fingerprint, part.ext),
      'Content-Length': String(plan.end - plan.start),
      ...(plan.status === 206 ? { 'Content-Range': contentRange(plan.start, plan.end, part.size) } : {}),
    });
    if (req.method === 'HEAD') return void res.end();
    await afterStatus(res, async () => sendRange(res, { fh: part.fh }, plan.start, plan.end, o.signal));
    return;
  }
  await serveMultipart(req, res, img.fingerprint, o, img.parts.length, async (i) => {
    const p = img.parts[i]!;
    return { role: p.role, ext: p.ext, src: { fh: p.fh }, end: p.size };
  });
}

interface LivePart {
  role: PartRole;
  ext: string;
  src: ByteSource;
  end: number;
}

/** multipart/form-data, body chunked; parts are resolved one after the other (a fill delivers them in order). */
async function serveMultipart(
  req: IncomingMessage,
  res: ServerResponse,
  fp: string,
  o: ServeOptions,
  count: number,
  part: (i: number) => Promise<LivePart>,
): Promise<void> {
  const first = await part(0); // before the status line: may still throw
  const boundary = randomBoundary();
  res.writeHead(200, {
    ...o.extraHeaders,
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
          held: (pos, end) => fill.held(i, pos, end),
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
