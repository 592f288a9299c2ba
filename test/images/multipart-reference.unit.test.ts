// The multipart writer and parser checked against independent implementations, not against each
// other: busboy (the parser most Node servers use) reads what our writer frames, and our parser reads
// what undici's FormData serializer (Node's built-in Response) writes. Pure: no sockets.
import { randomBytes } from 'node:crypto';
import busboy from 'busboy';
import { describe, expect, it } from 'vitest';
import {
  boundaryOf,
  closingBoundary,
  multipartContentType,
  partHeader,
  randomBoundary,
} from '../../src/images/export/multipart.ts';
import { MultipartParser } from '../../src/images/upstreams/multipart-parser.ts';

interface Part {
  name: string | undefined;
  filename: string | undefined;
  data: Buffer;
}

/** Parse with busboy (third party). */
function busboyParse(contentType: string, body: Buffer): Promise<Part[]> {
  return new Promise((resolve, reject) => {
    const parts: Part[] = [];
    const bb = busboy({ headers: { 'content-type': contentType }, limits: { fileSize: 64 * 1024 * 1024 } });
    bb.on('file', (name, stream, info) => {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('error', reject);
      stream.on('end', () => parts.push({ name, filename: info.filename, data: Buffer.concat(chunks) }));
    });
    bb.on('field', (name) => reject(new Error(`part ${name} read as a field, not a file`)));
    bb.on('error', reject);
    bb.on('close', () => resolve(parts));
    bb.end(body);
  });
}

/** Parse with ours, fed in `step`-byte chunks. */
async function ourParse(boundary: string, body: Buffer, step = body.length): Promise<Part[]> {
  const parts: { name: string | undefined; filename: string | undefined; data: Buffer[] }[] = [];
  const p = new MultipartParser(boundary, {
    onPart: (h) => void parts.push({ name: h.name, filename: h.filename, data: [] }),
    onData: (c) => void parts.at(-1)!.data.push(Buffer.from(c)),
    onPartEnd: () => {},
  });
  for (let i = 0; i < body.length; i += step) await p.write(body.subarray(i, i + step));
  p.end();
  return parts.map((x) => ({ name: x.name, filename: x.filename, data: Buffer.concat(x.data) }));
}

// Bodies chosen to look like delimiters without being one, and random bytes.
const META = Buffer.concat([Buffer.from('META\r\n--'), randomBytes(3000), Buffer.from('\r\n--not-the-boundary\r\n')]);
const ROOT = Buffer.concat([Buffer.from('\r\n\r\n'), randomBytes(200_000), Buffer.from('--\r\n')]);
const FP = 'a'.repeat(64);

describe('multipart against third-party implementations', () => {
  it('busboy reads our writer: names, filenames and exact bytes of both parts', async () => {
    const boundary = randomBoundary();
    const body = Buffer.concat([
      partHeader(boundary, 0, 'metadata', `${FP}.tar.xz`),
      META,
      partHeader(boundary, 1, 'rootfs', `${FP}.squashfs`),
      ROOT,
      closingBoundary(boundary),
    ]);
    const parts = await busboyParse(multipartContentType(boundary), body);
    expect(parts.map((p) => [p.name, p.filename, p.data.length])).toEqual([
      ['metadata', `${FP}.tar.xz`, META.length],
      ['rootfs', `${FP}.squashfs`, ROOT.length],
    ]);
    expect(parts[0]!.data.equals(META)).toBe(true);
    expect(parts[1]!.data.equals(ROOT)).toBe(true);
  });

  it("our parser reads undici's FormData encoding (Node's Response), whatever the chunking", async () => {
    const form = new FormData();
    form.append('metadata', new Blob([META]), 'meta-x.tar.xz');
    form.append('rootfs', new Blob([ROOT]), 'x.squashfs');
    const res = new Response(form);
    const contentType = res.headers.get('content-type')!;
    const body = Buffer.from(await res.arrayBuffer());
    const boundary = boundaryOf(contentType);
    expect(boundary, contentType).toBeDefined();
    const expected = [
      { name: 'metadata', filename: 'meta-x.tar.xz', data: META },
      { name: 'rootfs', filename: 'x.squashfs', data: ROOT },
    ];
    for (const step of [body.length, 1 + 4096, 7, 1]) {
      const parts = await ourParse(boundary!, body, step);
      expect(
        parts.map((p) => [p.name, p.filename]),
        `step ${step}`,
      ).toEqual(expected.map((e) => [e.name, e.filename]));
      for (const [i, p] of parts.entries())
        expect(p.data.equals(expected[i]!.data), `part ${i}, step ${step}`).toBe(true);
    }
    // Positive control for the comparison above: busboy reads the same bytes the same way.
    const theirs = await busboyParse(contentType, body);
    expect(theirs.map((p) => [p.name, p.filename, p.data.length])).toEqual(
      expected.map((e) => [e.name, e.filename, e.data.length]),
    );
  });

  it('both refuse a body cut before the closing boundary', async () => {
    const boundary = randomBoundary();
    const cut = Buffer.concat([partHeader(boundary, 0, 'metadata', 'm.tar.xz'), META.subarray(0, 100)]);
    await expect(ourParse(boundary, cut)).rejects.toThrow(/ended early/);
    await expect(busboyParse(multipartContentType(boundary), cut)).rejects.toThrow(/Unexpected end of form/);
  });
});
