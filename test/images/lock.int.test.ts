// The cache lock on its own: one holder at a time, the holder's pid in the refusal, a crashed
// holder's file (a pid that no longer runs, or a reused pid with another start time) taken over.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { lockCache } from '../../src/images/store/lock.ts';
import { service, tempDir } from '../helpers/images.ts';

let t: { dir: string; cleanup: () => Promise<void> };
beforeEach(async () => {
  t = await tempDir();
});
afterEach(() => t.cleanup());

it('refuses a second holder, naming the first one pid; release lets the next in', async () => {
  const a = await lockCache(t.dir, 'first');
  await expect(lockCache(t.dir, 'second')).rejects.toMatchObject({
    code: 'E_CONFLICT',
    message: expect.stringContaining(`locked by pid ${process.pid} (first)`),
  });
  await a.release();
  expect(existsSync(join(t.dir, 'lock'))).toBe(false);
  const b = await lockCache(t.dir, 'second');
  await b.release();
});

it('takes over the lock of a crashed holder (dead pid, reused pid, torn file)', async () => {
  for (const stale of [
    JSON.stringify({ pid: 2 ** 22 + 7, start: '1', role: 'dead' }),
    JSON.stringify({ pid: process.pid, start: 'another-process', role: 'reused pid' }),
    '{"pid": 12',
  ]) {
    writeFileSync(join(t.dir, 'lock'), stale);
    const l = await lockCache(t.dir, 'next');
    expect(JSON.parse(readFileSync(join(t.dir, 'lock'), 'utf8'))).toMatchObject({ pid: process.pid, role: 'next' });
    await l.release();
  }
});

it('a second image service on the same cache is refused while the first runs', async () => {
  const first = await service(t.dir);
  try {
    await expect(service(t.dir)).rejects.toThrow(`locked by pid ${process.pid}`);
  } finally {
    await first.close();
  }
  await (await service(t.dir)).close();
});
