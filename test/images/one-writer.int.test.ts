// Issue 10 point 4: the daemon is the cache's only writer. The `images` and `cache` CLI verbs go
// through the admin API while a gateway runs; a sweep or gc then never pulls a file from under a
// fill, and never leaves the daemon's index pointing at blobs it removed.
import { createHash } from 'node:crypto';
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import yaml from 'js-yaml';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { unifiedImage } from '../../fixtures/images/make.ts';
import { cacheCommand } from '../../src/cli/cache.ts';
import { imagesCommand } from '../../src/cli/images.ts';
import { tmpDir } from '../../src/images/store/paths.ts';
import type { ImageService } from '../../src/images/index.ts';
import type { Service } from '../../src/service.ts';
import { fakeLxd, type FakeLxd } from '../helpers/fake-upstreams.ts';
import { exportServer, get, type ExportServer } from '../helpers/images.ts';
import { DEMO, inProcess, layout, type Layout } from '../helpers/service.ts';

let l: Layout;
let svc: Service | undefined;
let upstream: FakeLxd | undefined;
let guest: ExportServer | undefined;
let out: string[] = [];
const io = { out: (s: string) => void out.push(s) };
const cacheDir = (): string => join(l.dir, 'cache');
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

async function cli(cmd: 'cache' | 'images', ...args: string[]): Promise<string> {
  out = [];
  const c = cmd === 'cache' ? cacheCommand(io) : imagesCommand(io);
  c.exitOverride();
  await c.parseAsync([...args, '--config', l.configFile], { from: 'user' });
  return out.join('');
}

function images(maxSize: string, upstreamSocket?: string): string {
  return yaml.dump({
    images: {
      cache_dir: './cache',
      max_size: maxSize,
      upstreams: upstreamSocket ? [{ type: 'lxd', socket: upstreamSocket }] : [],
    },
  });
}

async function waitFor(what: string, cond: () => Promise<boolean>, ms = 30_000): Promise<void> {
  const until = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

beforeEach(() => {
  l = layout({ demo: DEMO });
});
afterEach(async () => {
  await guest?.close();
  await svc?.stop();
  await upstream?.close();
  guest = svc = upstream = undefined;
  l.cleanup();
});

describe('one writer on the image cache', () => {
  it('cache gc during a fill does not break the fill (was: ENOENT at rename)', async () => {
    upstream = await fakeLxd(join(l.dir, 'lxd.sock'));
    const img = await unifiedImage(2 * 1024 * 1024);
    upstream.images.set(img.fingerprint, { img, public: true, cached: false });
    upstream.chunkDelay = 30; // 32 chunks: about a second
    await writeFile(
      l.configFile,
      `${(await import('node:fs')).readFileSync(l.configFile, 'utf8')}${images('1GiB', upstream.socket)}`,
    );
    svc = await inProcess(l);
    guest = await exportServer(svc.deps.images as ImageService, join(l.dir, 'guest.sock'));
    const pulling = get(guest.socket, `/1.0/images/${img.fingerprint}/export`);
    await waitFor('the fill to open its tmp file', async () => (await readdir(tmpDir(cacheDir()))).length > 0);
    const steps = JSON.parse(await cli('cache', 'gc', '-o', 'json')) as { step: string; removed: number }[];
    expect(steps.find((s) => s.step === 'sweep tmp')?.removed).toBe(0);
    upstream.chunkDelay = 0;
    const got = await pulling;
    expect(got.complete, 'the export was cut').toBe(true);
    expect(sha(got.body)).toBe(img.fingerprint);
    const listed = JSON.parse(await cli('images', 'ls', '-o', 'json')) as { fingerprint: string }[];
    expect(listed.map((i) => i.fingerprint)).toEqual([img.fingerprint]);
  });

  it('cache gc while serving leaves every listed image exportable (was: 404 until restart)', async () => {
    await writeFile(l.configFile, `${(await import('node:fs')).readFileSync(l.configFile, 'utf8')}${images('3MiB')}`);
    svc = await inProcess(l);
    guest = await exportServer(svc.deps.images as ImageService, join(l.dir, 'guest.sock'));
    const imgs = [await unifiedImage(1024 * 1024), await unifiedImage(1024 * 1024)];
    for (const [i, img] of imgs.entries()) {
      await writeFile(join(l.dir, `${i}.tar.gz`), img.files[0]!);
      await cli('images', 'import', join(l.dir, `${i}.tar.gz`));
    }
    // The operator lowers the bound in the file and runs gc: the running daemon's index must stay true.
    const text = (await import('node:fs')).readFileSync(l.configFile, 'utf8').replace('3MiB', '1100KiB');
    await writeFile(l.configFile, text);
    await cli('cache', 'gc', '-o', 'json');
    const listed = JSON.parse(await cli('images', 'ls', '-o', 'json')) as { fingerprint: string }[];
    expect(listed.length).toBeGreaterThan(0);
    for (const { fingerprint } of listed) {
      const got = await get(guest.socket, `/1.0/images/${fingerprint}/export`);
      expect(got.status, `export of listed image ${fingerprint}`).toBe(200);
      expect(sha(got.body)).toBe(fingerprint);
    }
    expect(guest.errors).toEqual([]);
  });
});
