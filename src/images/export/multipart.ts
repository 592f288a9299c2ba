// multipart/form-data framing for split exports, the way Go's mime/multipart Writer frames it.
// Pure: the transport writes these buffers around the part bodies.
import { randomBytes } from 'node:crypto';
import { formDataDisposition } from './disposition.ts';

/** 30 random bytes as hex, like Go's randomBoundary(). */
export const randomBoundary = (): string => randomBytes(30).toString('hex');

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
