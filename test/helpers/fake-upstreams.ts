// Upstream servers for tests: an LXD-like REST server on a unix socket (single and multipart
// exports, with fault injection; its instances, /state and events in fake-lxd-instances.ts) and a static
// simplestreams tree on 127.0.0.1.
import http from 'node:http';
import { createHash } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join, normalize } from 'node:path';
import type { AddressInfo } from 'node:net';
import type { MadeImage } from '../../fixtures/images/make.ts';
import {
  closingBoundary,
  multipartContentType,
  partHeader,
  randomBoundary,
} from '../../src/images/export/multipart.ts';
import { type FakeInstances, instanceRoutes } from './fake-lxd-instances.ts';

/** `stall`: half the body, then silence with the connection open (unified images). */
export type Fault = 'none' | 'truncate' | 'corrupt' | 'stall';

export interface FakeLxd extends FakeInstances {
  socket: string;
  exports: number;
  /** Export requests whose connection closed before the response finished. */
  abortedExports: number;
  images: Map<string, { img: MadeImage; public: boolean; cached: boolean; vm?: boolean }>;
  fault: Fault;
  /** Delay between 64 KiB chunks (ms). */
  chunkDelay: number;
  close(): Promise<void>;
}

/** The fake's images: recorded as uploaded at this time, their files written one second earlier. */
export const UPLOADED_AT = new Date('2026-01-02T03:04:05Z');
export const FILE_MODIFIED = new Date('2026-01-02T03:04:04Z');

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const CHUNK = 64 * 1024;

async function writeSlowly(
  res: http.ServerResponse,
  data: Buffer,
  delay: number,
  stopAt = data.length,
): Promise<boolean> {
  for (let i = 0; i < stopAt; i += CHUNK) {
    if (res.destroyed) return false;
    const ok = res.write(data.subarray(i, Math.min(i + CHUNK, stopAt)));
    if (!ok) await new Promise((r) => res.once('drain', r));
    if (delay) await sleep(delay);
  }
  return true;
}

/**
 * `events`: serve the lifecycle event websocket (the inventory tests). Off by default: an image upstream
 * that finds an event stream reuses its answers until a change event, which the image tests never send.
 */
export async function fakeLxd(socket: string, opts: { events?: boolean } = {}): Promise<FakeLxd> {
  const routes = instanceRoutes();
  const state: FakeLxd = {
    instances: routes.instances,
    failState: routes.failState,
    stateReads: routes.stateReads,
    emit: routes.emit,
    socket,
    exports: 0,
    abortedExports: 0,
    images: new Map(),
    fault: 'none',
    chunkDelay: 0,
    close: async () => {},
  };
  const json = (res: http.ServerResponse, status: number, body: unknown): void =>
    void res.writeHead(status, { 'Content-Type': 'application/json' }).end(`${JSON.stringify(body)}\n`);
  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://unix.socket');
    if (routes.handle(url, res)) return;
    const m = /^\/1\.0\/images\/([0-9a-f]+)(\/export)?$/.exec(url.pathname);
    if (!m) return json(res, 404, { type: 'error', error: 'not found', error_code: 404 });
    const matches = [...state.images.keys()].filter((fp) => fp.startsWith(m[1]!));
    if (matches.length > 1)
      return json(res, 500, { type: 'error', error: 'More than one image matches', error_code: 500 });
    const entry = matches[0] ? state.images.get(matches[0]) : undefined;
    if (!entry) return json(res, 404, { type: 'error', error: 'not found', error_code: 404 });
    const { img } = entry;
    if (!m[2]) {
      return json(res, 200, {
        type: 'sync',
        status: 'Success',
        status_code: 200,
        metadata: {
          fingerprint: img.fingerprint,
          public: entry.public,
          cached: entry.cached,
          type: entry.vm ? 'virtual-machine' : 'container',
          size: img.files.reduce((n, f) => n + f.length, 0),
          architecture: 'x86_64',
          properties: { os: 'fake', description: 'from fake lxd' },
          uploaded_at: UPLOADED_AT.toISOString(),
        },
      });
    }
    state.exports++;
    res.on('close', () => {
      if (!res.writableFinished) state.abortedExports++;
    });
    const fault = state.fault;
    if (img.kind === 'unified') {
      let body = img.files[0]!;
      if (fault === 'corrupt') {
        body = Buffer.from(body);
        body[body.length >> 1]! ^= 0xff;
      }
      res.writeHead(200, {
        'Content-Type': 'application/octet-stream',
        'Content-Length': String(body.length),
        'Content-Disposition': `inline;filename=${img.fingerprint}.tar.gz`,
        // Go's http.ServeContent: the image file's mtime, which need not be the second of uploaded_at.
        'Last-Modified': FILE_MODIFIED.toUTCString(),
      });
      const half = fault === 'truncate' || fault === 'stall';
      const ok = await writeSlowly(res, body, state.chunkDelay, half ? body.length >> 1 : body.length);
      if (fault === 'stall') return;
      if (fault === 'truncate') return void res.destroy();
      if (ok) res.end();
      return;
    }
    const boundary = randomBoundary();
    res.writeHead(200, { 'Content-Type': multipartContentType(boundary) });
    const [meta, rootfs] = img.files as [Buffer, Buffer];
    res.write(partHeader(boundary, 0, 'metadata', `meta-${img.fingerprint}.tar.gz`));
    await writeSlowly(res, meta, state.chunkDelay);
    res.write(partHeader(boundary, 1, entry.vm ? 'rootfs.img' : 'rootfs', `${img.fingerprint}.squashfs`));
    const root = fault === 'corrupt' ? Buffer.from(rootfs).fill(1, 100, 101) : rootfs;
    const ok = await writeSlowly(res, root, state.chunkDelay, fault === 'truncate' ? root.length >> 1 : root.length);
    if (fault === 'truncate') return void res.destroy();
    if (ok) res.end(closingBoundary(boundary));
  });
  if (opts.events) routes.attach(server);
  await new Promise<void>((r) => server.listen(socket, r));
  state.close = () =>
    new Promise<void>((r) => {
      routes.close();
      server.closeAllConnections();
      server.close(() => r());
    });
  return state;
}

export interface FakeStreams {
  url: string;
  root: string;
  requests: string[];
  close(): Promise<void>;
}

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/** Build a simplestreams tree for these images under `root` and serve it on 127.0.0.1. */
export async function fakeSimplestreams(
  root: string,
  images: { img: MadeImage; name: string; vm?: boolean }[],
  prefix = '/mirror/',
): Promise<FakeStreams> {
  const versions: Record<string, unknown> = {};
  const products: Record<string, unknown> = {};
  for (const { img, name, vm } of images) {
    const dir = `images/${name}/20260101_00:00`;
    const items: Record<string, unknown> = {};
    const put = async (file: string, data: Buffer): Promise<void> => {
      await mkdir(dirname(join(root, dir, file)), { recursive: true });
      await writeFile(join(root, dir, file), data);
    };
    if (img.kind === 'unified') {
      await put('lxd_combined.tar.gz', img.files[0]!);
      items['lxd_combined.tar.gz'] = {
        ftype: 'lxd_combined.tar.gz',
        path: `${dir}/lxd_combined.tar.gz`,
        size: img.files[0]!.length,
        sha256: sha(img.files[0]!),
      };
    } else {
      const [meta, rootfs] = img.files as [Buffer, Buffer];
      await put('lxd.tar.xz', meta);
      await put(vm ? 'disk.qcow2' : 'root.squashfs', rootfs);
      items['lxd.tar.xz'] = {
        ftype: 'lxd.tar.xz',
        path: `${dir}/lxd.tar.xz`,
        size: meta.length,
        sha256: sha(meta),
        [vm ? 'combined_disk-kvm-img_sha256' : 'combined_squashfs_sha256']: img.fingerprint,
      };
      items[vm ? 'disk.qcow2' : 'root.squashfs'] = {
        ftype: vm ? 'disk-kvm.img' : 'squashfs',
        path: `${dir}/${vm ? 'disk.qcow2' : 'root.squashfs'}`,
        size: rootfs.length,
        sha256: sha(rootfs),
      };
    }
    versions[name] = items;
    products[`test:${name}:amd64:default`] = {
      arch: 'amd64',
      os: 'Test',
      release: name,
      versions: { '20260101_00:00': { items } },
    };
  }
  await mkdir(join(root, 'streams/v1'), { recursive: true });
  await writeFile(
    join(root, 'streams/v1/index.json'),
    JSON.stringify({
      format: 'index:1.0',
      index: {
        images: {
          datatype: 'image-downloads',
          path: 'streams/v1/images.json',
          format: 'products:1.0',
          products: Object.keys(products),
        },
      },
    }),
  );
  await writeFile(
    join(root, 'streams/v1/images.json'),
    JSON.stringify({ format: 'products:1.0', content_id: 'images', datatype: 'image-downloads', products }),
  );
  const requests: string[] = [];
  const server = http.createServer(async (req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    requests.push(path);
    if (!path.startsWith(prefix)) return void res.writeHead(404).end();
    const file = normalize(join(root, path.slice(prefix.length)));
    if (!file.startsWith(root)) return void res.writeHead(403).end();
    try {
      const data = await readFile(file);
      res.writeHead(200, { 'Content-Length': String(data.length) }).end(data);
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}${prefix}`,
    root,
    requests,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
