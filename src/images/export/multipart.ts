// multipart/form-data framing for split exports, the way Go's mime/multipart Writer frames it.
// Pure: the transport writes these buffers around the part bodies.
import { createHash, randomBytes } from 'node:crypto';
import type { PartRole } from '../store/manifest.ts';
import { formDataDisposition, partFileName } from './disposition.ts';

/** 30 random bytes as hex, like Go's randomBoundary(). */
export const randomBoundary = (): string => randomBytes(30).toString('hex');

/**
 * The boundary of an image's split export: the same shape as Go's (60 hex digits) but derived from
 * the fingerprint, so every full response carries the same bytes and a range of it means the same
 * thing on every request (a resumed download). The image's content cannot contain it: it would have
 * to hold a hash of its own hash.
 */
export const imageBoundary = (fingerprint: string): string =>
  createHash('sha256').update(`guestgate split export ${fingerprint}`).digest('hex').slice(0, 60);

/** One stretch of a split export's body: framing bytes, or part `part`'s whole content. */
export type Segment =
  | { readonly bytes: Buffer; readonly size: number }
  | { readonly part: number; readonly size: number };

/** The full multipart body of a split image, in order: header, part, header, part, closing boundary. */
export function splitLayout(
  fingerprint: string,
  boundary: string,
  parts: readonly { readonly role: PartRole; readonly ext: string; readonly size: number }[],
): Segment[] {
  const out: Segment[] = [];
  parts.forEach((p, i) => {
    const h = partHeader(boundary, i, p.role, partFileName(fingerprint, p.role, p.ext));
    out.push({ bytes: h, size: h.length }, { part: i, size: p.size });
  });
  const c = closingBoundary(boundary);
  out.push({ bytes: c, size: c.length });
  return out;
}

export const layoutSize = (segments: readonly Segment[]): number => segments.reduce((n, s) => n + s.size, 0);

export const multipartContentType = (boundary: string): string => `multipart/form-data; boundary=${boundary}`;

/** Headers of part `index` (0-based); parts after the first start with the CRLF that ends the previous body. */
export function partHeader(boundary: string, index: number, name: string, filename: string): Buffer {
  return Buffer.from(
    `${index === 0 ? '' : '\r\n'}--${boundary}\r\n` +
      `Content-Disposition: ${formDataDisposition(name, filename)}\r\n` +
      `Content-Type: application/octet-stream\r\n\r\n`,
    'latin1',
  );
}

export const closingBoundary = (boundary: string): Buffer => Buffer.from(`\r\n--${boundary}--\r\n`, 'latin1');

/** The boundary parameter of a multipart Content-Type, or undefined. */
export function boundaryOf(contentType: string | undefined): string | undefined {
  if (!contentType || !/^\s*multipart\/form-data\s*;/i.test(contentType)) return undefined;
  const m = /;\s*boundary\s*=\s*(?:"([^"]+)"|([^;\s]+))/i.exec(contentType);
  return m ? (m[1] ?? m[2]) : undefined;
}
