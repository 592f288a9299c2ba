// writeFilesAtomic, the group commit under the admin API's concurrent writes: one result per entry in
// order, a failing entry (its folder is gone) costs only itself and leaves no tmp file, a file named
// twice ends with its last entry, and every file gets exactly its mode.
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { writeFilesAtomic } from '../../src/util/atomic-write.ts';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gg-atomic-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

it('writes a batch; a bad entry fails alone; the last entry for a file wins; modes exact; no tmp left', async () => {
  const results = await writeFilesAtomic([
    { file: join(dir, 'a.yaml'), data: 'a1', mode: 0o600 },
    { file: join(dir, 'missing', 'b.yaml'), data: 'b', mode: 0o600 },
    { file: join(dir, 'c.yaml'), data: 'c', mode: 0o640 },
    { file: join(dir, 'a.yaml'), data: 'a2', mode: 0o600 },
  ]);
  expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'fulfilled']);
  expect((results[1] as PromiseRejectedResult).reason).toMatchObject({ code: 'ENOENT' });
  expect(await readFile(join(dir, 'a.yaml'), 'utf8')).toBe('a2');
  expect(await readFile(join(dir, 'c.yaml'), 'utf8')).toBe('c');
  expect((await stat(join(dir, 'c.yaml'))).mode & 0o777).toBe(0o640);
  expect((await readdir(dir)).sort()).toEqual(['a.yaml', 'c.yaml']);
});

it('an empty batch is nothing', async () => {
  expect(await writeFilesAtomic([])).toEqual([]);
});

it('keepMode: an existing file keeps its mode (even one the umask would strip), a new one gets `mode`', async () => {
  const { chmod, symlink, writeFile, lstat } = await import('node:fs/promises');
  await writeFile(join(dir, 'old.yaml'), 'x');
  await chmod(join(dir, 'old.yaml'), 0o664); // group-writable: a plain create under umask 022 would drop it
  await writeFile(join(dir, 'target'), 't');
  await chmod(join(dir, 'target'), 0o644);
  await symlink('target', join(dir, 'link.yaml'));
  const results = await writeFilesAtomic([
    { file: join(dir, 'old.yaml'), data: 'new', mode: 0o600, keepMode: true },
    { file: join(dir, 'fresh.yaml'), data: 'f', mode: 0o600, keepMode: true },
    // a symlink is replaced by a file, whose mode is not borrowed from the link's target
    { file: join(dir, 'link.yaml'), data: 'l', mode: 0o600, keepMode: true },
  ]);
  expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled']);
  expect((await stat(join(dir, 'old.yaml'))).mode & 0o7777).toBe(0o664);
  expect(await readFile(join(dir, 'old.yaml'), 'utf8')).toBe('new');
  expect((await stat(join(dir, 'fresh.yaml'))).mode & 0o7777).toBe(0o600);
  expect((await lstat(join(dir, 'link.yaml'))).isFile()).toBe(true);
  expect((await stat(join(dir, 'link.yaml'))).mode & 0o7777).toBe(0o600);
  expect(await readFile(join(dir, 'target'), 'utf8')).toBe('t');
});

it('many entries for one file among others: renamed in entry order, the last one stays', async () => {
  const entries = Array.from({ length: 40 }, (_, i) => ({
    file: join(dir, i % 2 ? 'same.yaml' : `other-${i}.yaml`),
    data: `v${i}`,
    mode: 0o600,
  }));
  const results = await writeFilesAtomic(entries);
  expect(results.every((r) => r.status === 'fulfilled')).toBe(true);
  expect(await readFile(join(dir, 'same.yaml'), 'utf8')).toBe('v39');
  expect((await readdir(dir)).filter((f) => f.endsWith('.tmp'))).toEqual([]);
});
