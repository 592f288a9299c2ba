// The pure header logic of exports: ETag conditions in ServeContent's order, If-Range by ETag or date,
// Repr-Digest encoding, and the split body's layout (deterministic boundary, exact byte count).
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { etagList, imageEtag, planResponse, reprDigest } from '../../src/images/export/conditional.ts';
import {
  boundaryOf,
  imageBoundary,
  layoutSize,
  multipartContentType,
  splitLayout,
} from '../../src/images/export/multipart.ts';

const FP = 'a'.repeat(64);
const lm = new Date('2024-01-02T03:04:05Z');
const base = { method: 'GET', size: 1000, lastModified: lm, etag: imageEtag(FP) };

describe('ETag conditions', () => {
  it('If-None-Match: a matching tag (strong, weak or *) is 304 for GET/HEAD and 412 otherwise', () => {
    for (const inm of [`"${FP}"`, `W/"${FP}"`, '*', `"x", "${FP}"`])
      expect(planResponse({ ...base, ifNoneMatch: inm }).status).toBe(304);
    expect(planResponse({ ...base, method: 'HEAD', ifNoneMatch: '*' }).status).toBe(304);
    expect(planResponse({ ...base, method: 'POST', ifNoneMatch: '*' }).status).toBe(412);
    expect(planResponse({ ...base, ifNoneMatch: '"other"' }).status).toBe(200);
  });
  it('If-None-Match wins over If-Modified-Since, If-Match over If-Unmodified-Since', () => {
    const later = new Date(lm.getTime() + 10_000).toUTCString();
    const earlier = new Date(lm.getTime() - 10_000).toUTCString();
    expect(planResponse({ ...base, ifNoneMatch: '"other"', ifModifiedSince: later }).status).toBe(200);
    expect(planResponse({ ...base, ifMatch: `"${FP}"`, ifUnmodifiedSince: earlier }).status).toBe(200);
    expect(planResponse({ ...base, ifMatch: '"other"' }).status).toBe(412);
    expect(planResponse({ ...base, ifMatch: `W/"${FP}"` }).status).toBe(412); // If-Match compares strongly
    expect(planResponse({ ...base, ifMatch: '*' }).status).toBe(200);
  });
  it('without an ETag (LXD) tag conditions never match', () => {
    const { etag: _, ...noTag } = base;
    expect(planResponse({ ...noTag, ifNoneMatch: `"${FP}"` }).status).toBe(200);
    expect(planResponse({ ...noTag, range: 'bytes=0-0', ifRange: `"${FP}"` }).status).toBe(200);
  });
  it('If-Range: our ETag (strong only) or the exact date lets the range through; anything else is the whole body', () => {
    expect(planResponse({ ...base, range: 'bytes=10-19', ifRange: `"${FP}"` })).toEqual({
      status: 206,
      start: 10,
      end: 20,
    });
    expect(planResponse({ ...base, range: 'bytes=10-19', ifRange: `W/"${FP}"` }).status).toBe(200);
    expect(planResponse({ ...base, range: 'bytes=10-19', ifRange: '"b"' }).status).toBe(200);
    expect(planResponse({ ...base, range: 'bytes=10-19', ifRange: lm.toUTCString() }).status).toBe(206);
    expect(planResponse({ ...base, range: 'bytes=10-', ifRange: `"${FP}"` })).toEqual({
      status: 206,
      start: 10,
      end: 1000,
    });
    expect(planResponse({ ...base, range: 'bytes=1000-', ifRange: `"${FP}"` }).status).toBe(416);
  });
  it('parses tag lists and drops junk', () => {
    expect(etagList(' "a" , W/"b",junk, *')).toEqual(['"a"', 'W/"b"', '*']);
  });
});

describe('Repr-Digest', () => {
  it('is RFC 9530 sha-256 in base64 between colons', () => {
    const body = Buffer.from('hello');
    const hex = createHash('sha256').update(body).digest('hex');
    expect(reprDigest(hex)).toBe(`sha-256=:${createHash('sha256').update(body).digest('base64')}:`);
  });
});

describe('split layout', () => {
  const parts = [
    { role: 'metadata' as const, ext: '.tar.xz', size: 300 },
    { role: 'rootfs' as const, ext: '.squashfs', size: 5000 },
  ];
  it('has a Go-shaped boundary derived from the fingerprint', () => {
    expect(imageBoundary(FP)).toMatch(/^[0-9a-f]{60}$/);
    expect(imageBoundary(FP)).toBe(imageBoundary(FP));
    expect(imageBoundary('b'.repeat(64))).not.toBe(imageBoundary(FP));
    expect(boundaryOf(multipartContentType(imageBoundary(FP)))).toBe(imageBoundary(FP));
  });
  it('lays out header, part, header, part, closing boundary with their exact sizes', () => {
    const b = imageBoundary(FP);
    const segs = splitLayout(FP, b, parts);
    expect(segs.map((s) => ('part' in s ? `part${s.part}` : 'bytes'))).toEqual([
      'bytes',
      'part0',
      'bytes',
      'part1',
      'bytes',
    ]);
    const framing = segs.flatMap((s) => ('bytes' in s ? [s.bytes.toString('latin1')] : []));
    expect(framing[0]).toBe(
      `--${b}\r\nContent-Disposition: form-data; name="metadata"; filename="meta-${FP}.tar.xz"\r\nContent-Type: application/octet-stream\r\n\r\n`,
    );
    expect(framing[1]!.startsWith(`\r\n--${b}\r\n`)).toBe(true);
    expect(framing[2]).toBe(`\r\n--${b}--\r\n`);
    expect(layoutSize(segs)).toBe(5300 + framing.join('').length);
  });
});
