// Issue 10 point 8: a restart never cuts a pull. On SIGTERM the gateway stops accepting, lets the
// exports in flight finish (images.drain_timeout), then exits. A slow reader pulls an image over
// the guest socket while the real binary is stopped: every byte arrives, the sha256 matches.
import { createHash } from 'node:crypto';
import { request } from 'node:http';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { unifiedImage } from '../../fixtures/images/make.ts';
import { cli, DEMO, layout, spawnGateway, waitHealthy, type Layout } from '../helpers/service.ts';

let l: Layout | undefined;
afterEach(() => {
  l?.cleanup();
  l = undefined;
});

/** GET with a reader that takes 64 KiB every 10 ms; `onFirstBytes` runs once bytes arrive. */
function slowPull(sock: string, path: string, onFirstBytes: () => void) {
  return new Promise<{ status: number; body: Buffer; complete: boolean }>((resolve, reject) => {
    const req = request({ socketPath: sock, path, headers: { host: 'lxd' } }, (res) => {
      const chunks: Buffer[] = [];
      let first = true;
      const pump = (): void => {
        let n = 0;
        for (
          let c = res.read() as Buffer | null;
          c !== null;
          c = n < 64 * 1024 ? (res.read() as Buffer | null) : null
        ) {
          chunks.push(c);
          n += c.length;
        }
        if (n && first) {
          first = false;
          onFirstBytes();
        }
        if (!res.readableEnded && !res.destroyed) setTimeout(pump, 10);
      };
      res.on('readable', () => {}); // paused mode: read() pulls
      setTimeout(pump, 10);
      const done = () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks), complete: res.complete });
      res.on('end', done);
      res.on('close', done);
      res.on('error', done);
    });
    req.on('error', reject);
    req.end();
  });
}

it('SIGTERM lets an export in flight finish (slow reader), then exits 0', async () => {
  l = layout(
    { demo: DEMO.replace('config:\n', 'config:\n  security.devlxd.images: "true"\n') },
    'images:\n  cache_dir: ./cache\n',
  );
  const img = await unifiedImage(12 * 1024 * 1024, 'none');
  const file = join(l.dir, 'img.tar');
  writeFileSync(file, img.files[0]!);
  const imported = await cli(['images', 'import', file, '--config', l.configFile]); // offline: no gateway yet
  expect(imported.code, imported.stderr).toBe(0);
  const gw = spawnGateway(l.configFile);
  let stderr = '';
  gw.stderr?.on('data', (c: Buffer) => (stderr += c));
  await waitHealthy(l.adminSock);
  const exited = new Promise<number | null>((r) => gw.once('exit', (code) => r(code)));
  const got = await slowPull(l.guestSock, `/1.0/images/${img.fingerprint}/export`, () => gw.kill('SIGTERM'));
  expect(got.status).toBe(200);
  expect(got.complete, `the export was cut after ${got.body.length} bytes`).toBe(true);
  expect(createHash('sha256').update(got.body).digest('hex')).toBe(img.fingerprint);
  expect(await exited, stderr).toBe(0);
  expect(readFileSync(join(l.dir, 'cache', 'CACHEDIR.TAG'), 'utf8')).toContain('guestgate');
}, 120_000);
