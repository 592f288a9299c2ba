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
