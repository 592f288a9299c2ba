// readInstanceFile and its synchronous twin (used for the scan at start) on real files: exact bytes of a
// file of any size, a file that reads longer than fstat said (procfs: size 0) read whole, and refused once
// it passes the limit while read; a symlink and a FIFO refused without reading.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readInstanceFile, readInstanceFileSync, UnsafeFileError } from '../../src/inventory/sources/safe-read.ts';

const dir = mkdtempSync(join(tmpdir(), 'gg-safe-read-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe.each([
  ['async', (f: string, max: number) => readInstanceFile(f, max)],
  ['sync', async (f: string, max: number) => readInstanceFileSync(f, max)],
])('readInstanceFile (%s)', (_kind, read) => {
  it('reads regular files exactly, empty to the limit', async () => {
    for (const size of [0, 1, 4095, 4096, 65_537, 1024 * 1024]) {
      const f = join(dir, `f${size}-${_kind}.yaml`);
      const text = randomBytes(size).toString('base64').slice(0, size);
      writeFileSync(f, text, { mode: 0o640 });
      const r = await read(f, 1024 * 1024);
      expect(r.text).toBe(text);
      expect(r.size).toBe(size);
      expect(r.mode).toBe(0o640);
    }
  });

  it('a file longer than its fstat size (procfs) is read whole; past the limit while read it is refused', async () => {
    const r = await read('/proc/self/status', 1024 * 1024);
    expect(r.size).toBe(0);
    expect(r.text).toMatch(/^Name:/);
    expect(r.text).toContain('\nVmRSS:');
    await expect(read('/proc/self/status', 64)).rejects.toThrow(/grew over inventory.max_file_size \(64\) while read/);
  });

  it('over the limit by fstat, a symlink, a FIFO: refused with the reason', async () => {
    const big = join(dir, `big-${_kind}.yaml`);
    writeFileSync(big, 'x'.repeat(100));
    await expect(read(big, 99)).rejects.toThrow(/is 100 bytes, over inventory.max_file_size \(99\)/);
    const link = join(dir, `link-${_kind}.yaml`);
    symlinkSync(big, link);
    await expect(read(link, 1000)).rejects.toBeInstanceOf(UnsafeFileError);
    await expect(read(link, 1000)).rejects.toThrow(/symbolic link/);
    const fifo = join(dir, `fifo-${_kind}.yaml`);
    execFileSync('mkfifo', [fifo]);
    await expect(read(fifo, 1000)).rejects.toThrow(/is not a regular file \(a FIFO\)/);
    expect(readFileSync(big, 'utf8')).toHaveLength(100);
  });
});
