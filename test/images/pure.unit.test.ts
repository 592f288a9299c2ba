// Pure pieces, no sockets: fingerprint parsing, paths, magic, Range/conditionals, framing, manifests.
import { describe, expect, it } from 'vitest';
import { parseFingerprint } from '../../src/images/fingerprint.ts';
import { blobPath, manifestPath } from '../../src/images/store/paths.ts';
import { sniffExtension } from '../../src/images/magic.ts';
import { parseRange, planResponse } from '../../src/images/export/conditional.ts';
import { formDataDisposition, partFileName, unifiedDisposition } from '../../src/images/export/disposition.ts';
import { boundaryOf, closingBoundary, multipartContentType, partHeader } from '../../src/images/export/multipart.ts';
import { MultipartParser } from '../../src/images/upstreams/multipart-parser.ts';
import { decodeManifest, encodeManifest, type Manifest } from '../../src/images/store/manifest.ts';
import { imagesFromProducts, productPathsFromIndex } from '../../src/images/upstreams/simplestreams-catalog.ts';
import { parseMetadataYaml } from '../../src/images/fill/metadata.ts';

const FP = 'c67e8715acb226dc36cd0c78991da97a2e92967916bbe4a4f38b248f245ffbe6';

describe('fingerprints', () => {
  it('accepts hex prefixes and lower-cases them', () => {
    expect(parseFingerprint('C67E87')).toBe('c67e87');
    expect(parseFingerprint(FP)).toBe(FP);
  });
  it.each(['', '../../etc/passwd', '..%2f..', 'c67e87/..', 'zz', `${FP}0`, ' c67e', 'c67e\0', '%63'])(
    'rejects %j with E_BAD_FINGERPRINT',
    (s) => {
      expect(() => parseFingerprint(s)).toThrow(expect.objectContaining({ code: 'E_BAD_FINGERPRINT' }));
    },
  );
});

describe('paths', () => {
  it('derives a versioned, sharded blob path', () => {
    expect(blobPath('/c', FP)).toBe(`/c/content-v1/sha256/c6/7e/${FP}`);
    expect(manifestPath('/c', FP)).toBe(`/c/images-v1/${FP}.json`);
  });
  it.each(['../x', FP.toUpperCase(), FP.slice(1), `${FP}/../../x`])('refuses %j', (d) => {
    expect(() => blobPath('/c', d)).toThrow(expect.objectContaining({ code: 'E_BAD_FINGERPRINT' }));
  });
});

describe('magic bytes (LXD DetectCompressionFile)', () => {
  const tar = Buffer.alloc(262);
  tar.write('ustar', 257, 'latin1');
  it.each([
    [Buffer.from('BZh9'), '.tar.bz2'],
    [Buffer.from([0x1f, 0x8b, 8]), '.tar.gz'],
    [Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0]), '.tar.xz'],
    [Buffer.from('?7zXZ'), '.tar.lzma'],
    [Buffer.from([0x5d, 0, 0, 0x80]), '.tar.lzma'],
    [tar, '.tar'],
    [Buffer.from('hsqs....'), '.squashfs'],
    [Buffer.from('QFI\xfb', 'latin1'), '.qcow2'],
    [Buffer.from([0x28, 0xb5, 0x2f, 0xfd]), '.tar.zst'],
    [Buffer.from('hello'), ''],
    [Buffer.alloc(0), ''],
  ])('%#', (head, ext) => expect(sniffExtension(head)).toBe(ext));
});

describe('Range and conditionals (Go ServeContent subset)', () => {
  const lm = new Date('2026-11-21T23:30:28Z');
  const base = { method: 'GET', size: 1000, lastModified: lm };
  it('plans full, partial and suffix ranges', () => {
    expect(planResponse(base)).toEqual({ status: 200, start: 0, end: 1000 });
    expect(planResponse({ ...base, range: 'bytes=0-99' })).toEqual({ status: 206, start: 0, end: 100 });
    expect(planResponse({ ...base, range: 'bytes=900-' })).toEqual({ status: 206, start: 900, end: 1000 });
    expect(planResponse({ ...base, range: 'bytes=-10' })).toEqual({ status: 206, start: 990, end: 1000 });
    expect(planResponse({ ...base, range: 'bytes=990-5000' })).toEqual({ status: 206, start: 990, end: 1000 });
  });
  it('416 for unsatisfiable, full body for multi-range and unknown units', () => {
    expect(planResponse({ ...base, range: 'bytes=1000-' }).status).toBe(416);
    expect(planResponse({ ...base, range: 'bytes=5-1' }).status).toBe(416);
    expect(planResponse({ ...base, range: 'bytes=-0' }).status).toBe(416);
    expect(planResponse({ ...base, range: 'bytes=0-1,5-6' }).status).toBe(200);
    expect(parseRange('items=0-1', 10)).toBe('ignore');
  });
  it('If-Modified-Since / If-Unmodified-Since / If-Range', () => {
    expect(planResponse({ ...base, ifModifiedSince: lm.toUTCString() }).status).toBe(304);
    expect(planResponse({ ...base, ifModifiedSince: new Date(lm.getTime() - 1000).toUTCString() }).status).toBe(200);
    expect(planResponse({ ...base, ifModifiedSince: 'garbage' }).status).toBe(200);
    expect(planResponse({ ...base, ifUnmodifiedSince: new Date(lm.getTime() - 1000).toUTCString() }).status).toBe(412);
    expect(planResponse({ ...base, range: 'bytes=0-0', ifRange: lm.toUTCString() }).status).toBe(206);
    expect(planResponse({ ...base, range: 'bytes=0-0', ifRange: new Date(0).toUTCString() }).status).toBe(200);
    expect(planResponse({ ...base, range: 'bytes=0-0', ifRange: '"etag"' }).status).toBe(200);
  });
});

describe('Content-Disposition', () => {
  it('matches LXD byte for byte', () => {
    expect(unifiedDisposition(FP, '.tar.gz')).toBe(`inline;filename=${FP}.tar.gz`);
    expect(partFileName(FP, 'metadata', '.tar.xz')).toBe(`meta-${FP}.tar.xz`);
    expect(partFileName(FP, 'rootfs.img', '.qcow2')).toBe(`${FP}.qcow2`);
    expect(formDataDisposition('rootfs', `${FP}.squashfs`)).toBe(`form-data; name="rootfs"; filename="${FP}.squashfs"`);
  });
});

describe('multipart framing and parsing', () => {
  const boundary = 'b0undary';
  const meta = Buffer.from('META-DATA\r\n--b0undar not quite');
  const root = Buffer.concat([Buffer.from('\r\n--b0undaryX'), Buffer.alloc(5000, 7), Buffer.from('\r\n')]);
  const body = Buffer.concat([
    partHeader(boundary, 0, 'metadata', 'meta-x.tar.gz'),
    meta,
    partHeader(boundary, 1, 'rootfs', 'x.squashfs'),
    root,
    closingBoundary(boundary),
  ]);

  async function parse(chunks: Buffer[]) {
    const parts: { name?: string; filename?: string; data: Buffer[] }[] = [];
    const p = new MultipartParser(boundary, {
      onPart: (h) =>
        void parts.push({
          ...(h.name ? { name: h.name } : {}),
          ...(h.filename ? { filename: h.filename } : {}),
          data: [],
        }),
      onData: (c) => void parts.at(-1)!.data.push(Buffer.from(c)),
      onPartEnd: () => {},
    });
    for (const c of chunks) await p.write(c);
    p.end();
    return parts.map((x) => ({ name: x.name, filename: x.filename, data: Buffer.concat(x.data) }));
  }

  it('content type and boundary round trip', () => {
    expect(boundaryOf(multipartContentType('abc'))).toBe('abc');
    expect(boundaryOf('multipart/form-data; boundary="q q"')).toBe('q q');
    expect(boundaryOf('application/octet-stream')).toBeUndefined();
  });

  it('parses its own writer output whatever the chunking', async () => {
    const whole = await parse([body]);
    expect(whole).toEqual([
      { name: 'metadata', filename: 'meta-x.tar.gz', data: meta },
      { name: 'rootfs', filename: 'x.squashfs', data: root },
    ]);
    for (const step of [1, 2, 3, 7, 13, 64, 333]) {
      const chunks: Buffer[] = [];
      for (let i = 0; i < body.length; i += step) chunks.push(body.subarray(i, i + step));
      expect(await parse(chunks)).toEqual(whole);
    }
  });

  it('hands body bytes on as views of the chunks it was given (no copy), unless a delimiter may straddle', async () => {
    const head = partHeader(boundary, 0, 'metadata', 'm.tar.gz');
    const a = Buffer.concat([head, Buffer.alloc(100_000, 1)]); // the first chunk is joined to a leading CRLF
    const a2 = Buffer.alloc(100_000, 4);
    const b = Buffer.concat([Buffer.alloc(100_000, 2), Buffer.from('\r\n--b0und')]); // ends like a delimiter
    const c = Buffer.concat([Buffer.from('ish'), Buffer.alloc(1000, 3), closingBoundary(boundary)]);
    const seen: Buffer[] = [];
    const p = new MultipartParser(boundary, {
      onPart: () => {},
      onData: (x) => void seen.push(x),
      onPartEnd: () => {},
    });
    for (const x of [a, a2, b, c]) await p.write(x);
    p.end();
    expect(seen[1]!.buffer === a2.buffer && seen[1]!.length === a2.length).toBe(true);
    expect(seen[2]!.buffer === b.buffer && seen[2]!.length === 100_000).toBe(true);
    expect(
      Buffer.concat(seen).equals(
        Buffer.concat([
          Buffer.alloc(100_000, 1),
          a2,
          Buffer.alloc(100_000, 2),
          Buffer.from('\r\n--b0undish'),
          Buffer.alloc(1000, 3),
        ]),
      ),
    ).toBe(true);
  });

  it('refuses a body without the closing boundary', async () => {
    await expect(parse([body.subarray(0, body.length - 10)])).rejects.toThrow(/ended early/);
  });
});

describe('manifests', () => {
  const m: Manifest = {
    version: 1,
    fingerprint: FP,
    kind: 'unified',
    type: 'container',
    parts: [{ role: 'unified', digest: FP, size: 10, ext: '.tar.gz' }],
    public: true,
    cached: false,
    pinned: false,
    architecture: 'x86_64',
    properties: { os: 'debian' },
    last_modified: '2026-11-21T23:30:28.000Z',
    created_at: '2026-11-21T23:30:28.000Z',
    source: 'dir:/x',
  };
  it('round-trips', () => expect(decodeManifest(encodeManifest(m), FP)).toEqual(m));
  it('refuses tampered manifests', () => {
    expect(() => decodeManifest(encodeManifest({ ...m, parts: [{ ...m.parts[0]!, digest: '../../x' }] }))).toThrow();
    expect(() => decodeManifest(encodeManifest(m), '0'.repeat(64))).toThrow(/file name/);
    expect(() => decodeManifest(encodeManifest({ ...m, kind: 'split' }))).toThrow(/layout/);
    expect(() => decodeManifest('{"version":1')).toThrow(/JSON/);
  });
});

describe('metadata.yaml', () => {
  it('reads architecture, creation date and string properties', () => {
    expect(
      parseMetadataYaml(
        'architecture: x86_64\ncreation_date: 1700000000\nproperties:\n  os: debian\n  release: 12\n  nested: {a: 1}\n',
      ),
    ).toEqual({
      architecture: 'x86_64',
      creationDate: 1700000000,
      properties: { os: 'debian', release: '12' },
    });
    expect(parseMetadataYaml(': : :')).toEqual({ architecture: '', properties: {} });
  });
});

describe('simplestreams catalog', () => {
  it('maps combined hashes to split images and lxd_combined to unified ones', () => {
    const a = 'a'.repeat(64);
    const b = 'b'.repeat(64);
    const c = 'c'.repeat(64);
    const u = 'd'.repeat(64);
    const doc = {
      format: 'products:1.0',
      products: {
        'debian:12:amd64:default': {
          arch: 'amd64',
          os: 'Debian',
          release: 'bookworm',
          versions: {
            '20260101_05:24': {
              items: {
                'lxd.tar.xz': {
                  ftype: 'lxd.tar.xz',
                  path: 'images/m.tar.xz',
                  size: 10,
                  combined_squashfs_sha256: a,
                  combined_rootxz_sha256: b,
                  'combined_disk-kvm-img_sha256': c,
                },
                'root.squashfs': { ftype: 'squashfs', path: 'images/r.squashfs', size: 20 },
                'root.tar.xz': { ftype: 'root.tar.xz', path: 'images/r.tar.xz', size: 30 },
                'disk.qcow2': { ftype: 'disk-kvm.img', path: 'images/d.qcow2', size: 40 },
                unified: { ftype: 'lxd_combined.tar.gz', path: 'images/u.tar.gz', size: 50, sha256: u },
              },
            },
          },
        },
      },
    };
    const imgs = imagesFromProducts(doc);
    expect([...imgs.keys()].sort()).toEqual([a, b, c, u].sort());
    expect(imgs.get(a)!.files.map((f) => [f.role, f.path])).toEqual([
      ['metadata', 'images/m.tar.xz'],
      ['rootfs', 'images/r.squashfs'],
    ]);
    expect(imgs.get(c)!.type).toBe('virtual-machine');
    expect(imgs.get(c)!.files[1]!.role).toBe('rootfs.img');
    expect(imgs.get(u)!.files).toEqual([{ role: 'unified', path: 'images/u.tar.gz', size: 50, sha256: u }]);
    expect(
      productPathsFromIndex({
        index: {
          images: { datatype: 'image-downloads', path: 'streams/v1/images.json', format: 'products:1.0' },
          x: { datatype: 'other', path: 'y' },
        },
      }),
    ).toEqual(['streams/v1/images.json']);
  });
});
