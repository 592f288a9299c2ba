// Issue 10 point 8: a restart never cuts a pull. On SIGTERM the gateway stops accepting, lets the
// exports in flight finish (images.drain_timeout), then exits. A slow reader pulls an image over
// the guest socket while the real binary is stopped: every byte arrives, the sha256 matches.
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { unifiedImage } from '../../fixtures/images/make.ts';
import { cli, DEMO, layout, spawnGateway, waitHealthy, type Layout } from '../helpers/service.ts';
import { slowPull } from '../helpers/hammer.ts';

let l: Layout | undefined;
afterEach(() => {
  l?.cleanup();
  l = undefined;
});

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
