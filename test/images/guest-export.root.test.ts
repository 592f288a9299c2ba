// Image export through the guest socket, from a process in a pid namespace: the gates per dialect,
// prefix vs exact matching, unified and split (multipart) images, Range, and bytes that hash to the
// fingerprint, as the nested LXD client checks them.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { splitImage, unifiedImage, writeToDir, type MadeImage } from '../../fixtures/images/make.ts';
import { startGateway, type TestGateway } from '../helpers/gateway.ts';
import { createNamespace, type TestNamespace } from '../helpers/namespaces.ts';

let ns: TestNamespace;
let imgDir: string;
let unified: MadeImage;
let split: MadeImage;
const gws: TestGateway[] = [];

async function gateway(dialect: 'lxd-5.0' | 'lxd', imagesFlag: string): Promise<TestGateway> {
  const gw = await startGateway({
    guest: { dialect },
    images: { upstreams: [{ type: 'dir', path: imgDir }] },
    instances: [{ name: 'n1', config: { 'security.devlxd.images': imagesFlag }, identity: { init_pid: ns.initPid } }],
  });
  gws.push(gw);
  return gw;
}

/** curl inside the namespace: headers and body bytes (files, then base64, so binary survives). */
async function fetchIn(
  gw: TestGateway,
  path: string,
  extra: string[] = [],
): Promise<{ status: number; headers: Record<string, string>; body: Buffer }> {
  const args = extra.map((a) => `'${a}'`).join(' ');
  const script = `d=$(mktemp -d) && curl -s -D $d/h -o $d/b ${args} --unix-socket ${gw.socket} 'http://lxd${path}' && cat $d/h && echo @@BODY@@ && base64 -w0 $d/b; rm -rf $d`;
  const r = await ns.exec(['sh', '-c', script]);
  const [head, body] = r.stdout.split('@@BODY@@\n');
  if (!head?.startsWith('HTTP/') || body === undefined) throw new Error(`curl failed: ${JSON.stringify(r)}`);
  const [statusLine, ...lines] = head.trim().split('\r\n');
  const headers: Record<string, string> = {};
  for (const l of lines) {
    const i = l.indexOf(':');
    if (i > 0) headers[l.slice(0, i).toLowerCase()] = l.slice(i + 1).trim();
  }
  return { status: Number(statusLine!.split(' ')[1]), headers, body: Buffer.from(body, 'base64') };
}

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

beforeAll(async () => {
  ns = await createNamespace();
  imgDir = mkdtempSync(join(tmpdir(), 'gg-imgs-'));
  chmodSync(imgDir, 0o755);
  unified = await unifiedImage(256 * 1024);
  split = await splitImage(256 * 1024);
  await writeToDir(imgDir, unified);
  await writeToDir(imgDir, split);
});
afterAll(async () => {
  for (const g of gws) await g.close();
  await ns?.close();
  rmSync(imgDir, { recursive: true, force: true });
});

describe('image export through the guest socket', () => {
  it('unified: 200 with the headers nested LXD needs, bytes hash to the fingerprint, Range works', async () => {
    const gw = await gateway('lxd', 'true');
    const r = await fetchIn(gw, `/1.0/images/${unified.fingerprint}/export`);
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toBe('application/octet-stream');
    expect(r.headers['content-disposition']).toBe(`inline;filename=${unified.fingerprint}.tar.gz`);
    expect(r.headers['accept-ranges']).toBe('bytes');
    expect(sha(r.body)).toBe(unified.fingerprint);
    const part = await fetchIn(gw, `/1.0/images/${unified.fingerprint}/export`, ['-H', 'Range: bytes=10-19']);
    expect(part.status).toBe(206);
    expect(part.body).toEqual(unified.files[0]!.subarray(10, 20));
  });

  it('split: multipart with metadata then rootfs, together hashing to the fingerprint', async () => {
    const gw = gws[0]!;
    const r = await fetchIn(gw, `/1.0/images/${split.fingerprint}/export`);
    expect(r.status).toBe(200);
    const boundary = /^multipart\/form-data; boundary=(.+)$/.exec(r.headers['content-type']!)![1]!;
    const parts = r.body.toString('latin1').split(`--${boundary}`).slice(1, -1);
    expect(parts.map((p) => /name="([^"]+)"/.exec(p)![1])).toEqual(['metadata', 'rootfs']);
    const bodies = parts.map((p) => Buffer.from(p.slice(p.indexOf('\r\n\r\n') + 4, -2), 'latin1'));
    expect(sha(Buffer.concat(bodies))).toBe(split.fingerprint);
  });

  it('lxd: exact fingerprints only, main-API envelopes for 403/404', async () => {
    const gw = gws[0]!;
    const prefix = await fetchIn(gw, `/1.0/images/${unified.fingerprint.slice(0, 12)}/export`);
    expect(prefix.status).toBe(404);
    expect(JSON.parse(prefix.body.toString())).toMatchObject({ type: 'error', error_code: 404, error: 'Not Found' });
    const closed = await gateway('lxd', 'false');
    const f = await fetchIn(closed, `/1.0/images/${unified.fingerprint}/export`);
    expect([f.status, f.headers['content-type']]).toEqual([403, 'application/json']);
    expect(f.body.toString()).toBe(
      '{"type":"error","status":"","status_code":0,"operation":"","error_code":403,"error":"Forbidden","metadata":null}\n\n',
    );
  });

  it('lxd-5.0: a unique prefix matches; text 403 when the flag is off; traversal is just not found', async () => {
    const gw = await gateway('lxd-5.0', 'true');
    const r = await fetchIn(gw, `/1.0/images/${unified.fingerprint.slice(0, 8)}/export`);
    expect(r.status).toBe(200);
    expect(sha(r.body)).toBe(unified.fingerprint);
    for (const bad of ['..%2F..%2Fetc%2Fpasswd', 'ZZZZ', `${unified.fingerprint}x`]) {
      const b = await fetchIn(gw, `/1.0/images/${bad}/export`);
      expect([bad, b.status]).toEqual([bad, 404]);
    }
    const closed = await gateway('lxd-5.0', '');
    const f = await fetchIn(closed, `/1.0/images/${unified.fingerprint}/export`);
    expect([f.status, f.body.toString()]).toEqual([403, 'not authorized\n']);
  });
});
