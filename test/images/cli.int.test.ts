// `guestgate cache ...` and `guestgate images ...` on a real config file and cache folder.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import yaml from 'js-yaml';
import { splitImage, unifiedImage } from '../../fixtures/images/make.ts';
import { cacheCommand } from '../../src/cli/cache.ts';
import { imagesCommand } from '../../src/cli/images.ts';
import { blobPath, tmpDir } from '../../src/images/store/paths.ts';
import { cliWorkspace } from '../helpers/images.ts';

let t: { dir: string; cleanup: () => Promise<void> };
let config: string;
let out: string[];
const io = { out: (s: string) => void out.push(s) };
const cacheDir = (): string => join(t.dir, 'cache');

async function cli(cmd: 'cache' | 'images', ...args: string[]): Promise<string> {
  out = [];
  const c = cmd === 'cache' ? cacheCommand(io) : imagesCommand(io);
  c.exitOverride();
  await c.parseAsync([...args, '--config', config], { from: 'user' });
  return out.join('');
}

beforeEach(async () => {
  const w = await cliWorkspace({ max_size: '3MiB' });
  t = w;
  config = w.config;
});
afterEach(() => t.cleanup());

describe('images CLI', () => {
  it('import (unified and --split), ls as table/json/yaml, pin, rm', async () => {
    const u = await unifiedImage(1024 * 1024);
    const s = await splitImage(256 * 1024, true);
    await writeFile(join(t.dir, 'u.tar.gz'), u.files[0]!);
    await writeFile(join(t.dir, 'meta.tar.gz'), s.files[0]!);
    await writeFile(join(t.dir, 'disk.qcow2'), s.files[1]!);
    const imported = JSON.parse(await cli('images', 'import', join(t.dir, 'u.tar.gz'), '-o', 'json'));
    expect(imported).toMatchObject([{ fingerprint: u.fingerprint, kind: 'unified', public: true }]);
    JSON.parse(
      await cli(
        'images',
        'import',
        '--split',
        join(t.dir, 'meta.tar.gz'),
        join(t.dir, 'disk.qcow2'),
        '--private',
        '-o',
        'json',
      ),
    );
    const list = JSON.parse(await cli('images', 'ls', '-o', 'json')) as {
      fingerprint: string;
      type: string;
      public: boolean;
    }[];
    expect(list.map((i) => [i.fingerprint, i.type, i.public]).sort()).toEqual(
      [
        [u.fingerprint, 'container', true],
        [s.fingerprint, 'virtual-machine', false],
      ].sort(),
    );
    const tableOut = await cli('images', 'ls');
    expect(tableOut.split('\n')[0]).toMatch(/^FINGERPRINT\s+TYPE\s+KIND\s+SIZE/);
    expect(tableOut).toContain(u.fingerprint.slice(0, 12));
    expect(yaml.load(await cli('images', 'ls', '-o', 'yaml'))).toHaveLength(2);
    expect(JSON.parse(await cli('images', 'pin', u.fingerprint.slice(0, 10), '-o', 'json'))).toMatchObject({
      pinned: true,
    });
    expect(JSON.parse(await cli('images', 'rm', s.fingerprint.slice(0, 10), '-o', 'json'))).toEqual({
      removed: [s.fingerprint],
    });
    expect((JSON.parse(await cli('images', 'ls', '-o', 'json')) as unknown[]).length).toBe(1);
    await expect(cli('images', 'rm', 'ffffffffff')).rejects.toThrow(/no cached image/);
  });
});

describe('cache CLI', () => {
  it('verify reports named steps and repairs: leftover tmp, corrupt blob, torn manifest, orphan blob', async () => {
    const a = await unifiedImage(200_000);
    const b = await unifiedImage(200_000);
    await writeFile(join(t.dir, 'a.tar.gz'), a.files[0]!);
    await writeFile(join(t.dir, 'b.tar.gz'), b.files[0]!);
    await cli('images', 'import', join(t.dir, 'a.tar.gz'), join(t.dir, 'b.tar.gz'));
    await writeFile(join(tmpDir(cacheDir()), 'x.0.abc.tmp'), 'leftover');
    await writeFile(blobPath(cacheDir(), b.fingerprint), Buffer.alloc(b.files[0]!.length)); // bit rot
    await writeFile(join(cacheDir(), 'images-v1', `${'1'.repeat(64)}.json`), '{');
    const orphan = '2'.repeat(64);
    await mkdir(join(blobPath(cacheDir(), orphan), '..'), { recursive: true });
    await writeFile(blobPath(cacheDir(), orphan), 'orphan');
    const steps = JSON.parse(await cli('cache', 'verify', '-o', 'json')) as {
      step: string;
      checked: number;
      removed: number;
    }[];
    expect(steps.map((s) => [s.step, s.removed])).toEqual([
      ['sweep tmp', 1],
      ['check manifests', 1],
      ['re-hash blobs', 2], // b's corrupt blob and the orphan (named by a digest it does not have)
      ['drop images with missing or bad blobs', 1],
      ['drop unreferenced blobs', 0],
    ]);
    expect(steps.find((s) => s.step === 're-hash blobs')!.checked).toBe(3);
    expect(
      (JSON.parse(await cli('images', 'ls', '-o', 'json')) as { fingerprint: string }[]).map((i) => i.fingerprint),
    ).toEqual([a.fingerprint]);
    expect(await readdir(tmpDir(cacheDir()))).toEqual([]);
    const table = await cli('cache', 'verify');
    expect(table.split('\n')[0]).toMatch(/^STEP\s+CHECKED\s+REMOVED\s+BYTES\s+MS$/);
  });

  it('ls summarizes; gc evicts down to max_size, keeping pinned images', async () => {
    const imgs = await Promise.all([unifiedImage(1024 * 1024), unifiedImage(1024 * 1024)]);
    for (const [i, img] of imgs.entries()) await writeFile(join(t.dir, `${i}.tar.gz`), img.files[0]!);
    await cli('images', 'import', join(t.dir, '0.tar.gz'), '--pin');
    await cli('images', 'import', join(t.dir, '1.tar.gz'));
    expect(JSON.parse(await cli('cache', 'ls', '-o', 'json'))).toMatchObject({
      images: 2,
      pinned: 1,
      max_size: 3 * 1024 * 1024,
    });
    await writeFile(
      config,
      yaml.dump({
        state_dir: 'state',
        inventory: { source: 'dir', dir: 'inventory' },
        images: { cache_dir: 'cache', max_size: '1500KiB' },
      }),
    );
    const steps = JSON.parse(await cli('cache', 'gc', '-o', 'json')) as { step: string; removed: number }[];
    expect(steps.find((s) => s.step === 'evict to max_size')!.removed).toBe(1);
    expect(
      (JSON.parse(await cli('images', 'ls', '-o', 'json')) as { fingerprint: string }[]).map((i) => i.fingerprint),
    ).toEqual([imgs[0]!.fingerprint]);
  });
});
