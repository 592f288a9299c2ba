// A simplestreams server (HTTPS, self-signed, on a unix socket) that LISTS one unified image but holds no
// files: every file request is 404. A nested LXD daemon can get that image only through /dev/lxd/sock.
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface EmptyStreams {
  /** Folder (0755) holding `sock` (0666), for an LXD/Incus proxy device `connect=unix:<dir>/sock`. */
  readonly dir: string;
  readonly cert: string;
  readonly requests: string[];
  close(): Promise<void>;
}

export async function startEmptyStreams(image: { fingerprint: string; size: number }): Promise<EmptyStreams> {
  const dir = mkdtempSync(join(tmpdir(), 'ggx-streams-'));
  chmodSync(dir, 0o755);
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2',
    '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1',
    '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'),
  ], { stdio: 'ignore' }); // biome-ignore format: an argv
  const cert = readFileSync(join(dir, 'cert.pem'), 'utf8');
  const path = 'images/ggx/20260101_00:00/lxd_combined.tar.gz';
  const items = {
    'lxd_combined.tar.gz': { ftype: 'lxd_combined.tar.gz', path, size: image.size, sha256: image.fingerprint },
  };
  const products = {
    'ggx:nested:amd64:default': {
      aliases: 'ggx/nested',
      arch: 'amd64',
      os: 'ggx',
      release: 'nested',
      release_title: 'nested',
      versions: { '20260101_00:00': { items } },
    },
  };
  const docs: Record<string, string> = {
    '/streams/v1/index.json': JSON.stringify({
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
    '/streams/v1/images.json': JSON.stringify({
      format: 'products:1.0',
      content_id: 'images',
      datatype: 'image-downloads',
      products,
    }),
  };
  const requests: string[] = [];
  const server: Server = createServer({ key: readFileSync(join(dir, 'key.pem')), cert }, (req, res) => {
    requests.push(`${req.method} ${req.url}`);
    const doc = docs[(req.url ?? '').split('?')[0]!];
    if (doc) res.writeHead(200, { 'Content-Type': 'application/json' }).end(doc);
    else res.writeHead(404).end('no files here\n');
  });
  const sock = join(dir, 'sock');
  await new Promise<void>((r) => server.listen(sock, r));
  chmodSync(sock, 0o666);
  return {
    dir,
    cert,
    requests,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
