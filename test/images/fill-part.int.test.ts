// A fill's part on a real file: the bytes on disk are exactly the upstream's whatever the chunking (sizes that
// are no multiple of the O_DIRECT alignment, chunks that straddle it), through O_DIRECT where the file system
// has it and through buffered writes where it has not; readers can be sent every byte while it streams.
import { createHash, randomBytes } from 'node:crypto';
import { type FileHandle, mkdtemp, open, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ALIGN, alignedBuffer, directSegments, openDirect } from '../../src/images/fill/direct.ts';
import { giveBack } from '../../src/util/slabs.ts';
import {
  appendChunk,
  diskRoom,
  finishPart,
  heldViews,
  newPart,
  syncPart,
  type FillPart,
  WRITE_BATCH,
} from '../../src/images/fill/part.ts';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gg-part-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Stream `data` into a new part in chunks of the given sizes (cycled); returns the part and what readers saw mid-way. */
async function stream(data: Buffer, sizes: number[], direct: boolean | 'refused', beforeEnd?: (p: FillPart) => void) {
  const path = join(dir, `part-${Math.random().toString(36).slice(2)}`);
  const fh = await open(path, 'wx+', 0o600);
  const dfh = direct === 'refused' ? refusing() : direct ? await openDirect(fh) : undefined;
  if (direct && !dfh) throw new Error(`O_DIRECT is not supported on ${dir} (the file system of the temp dir)`);
  const p = newPart('unified', fh, dfh, path, data.length);
  let at = 0;
  let i = 0;
  let heldOk = 0;
  while (at < data.length) {
    const n = Math.min(sizes[i++ % sizes.length]!, data.length - at);
    const a = appendChunk(p, data.subarray(at, at + n));
    if (a) await a;
    at += n;
    await diskRoom(p);
    // What a reader is offered now: the bytes in memory from `written`, identical to the upstream's.
    const views = heldViews(p, p.written, p.accepted, Number.POSITIVE_INFINITY);
    const mem = Buffer.concat(views);
    for (const v of views) giveBack(v);
    if (mem.length) {
      expect(mem.equals(data.subarray(p.written, p.written + mem.length))).toBe(true);
      heldOk++;
    }
  }
  await p.chain;
  beforeEnd?.(p);
  await finishPart(p);
  await syncPart(p);
  await fh.close();
  return { p, path, heldOk };
}

/** A descriptor whose writes fail with EINVAL, as on a file system that takes O_DIRECT at open only. */
function refusing(): FileHandle {
  const einval = async (): Promise<never> => {
    throw Object.assign(new Error('EINVAL: invalid argument, write'), { code: 'EINVAL' });
  };
  return { writev: einval, write: einval, close: async () => {} } as unknown as FileHandle;
}

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

describe.each([
  ['O_DIRECT', true],
  ['buffered', false],
  ['O_DIRECT refused at the first write (EINVAL)', 'refused'],
] as const)('fill part, %s writes', (_name, direct) => {
  for (const [label, size, sizes] of [
    ['one byte', 1, [1]],
    ['a block minus one', ALIGN - 1, [1000]],
    ['odd chunks across several batches', 3 * WRITE_BATCH + 12_345, [65_536 + 7, 4093, 1_000_003]],
    ['exactly aligned batches', 2 * WRITE_BATCH, [WRITE_BATCH]],
    ['big slabs with an unaligned end', 2 * WRITE_BATCH + ALIGN + 1, [4 * 1024 * 1024 + 1]],
  ] as const) {
    it(`${label}: the file holds exactly the streamed bytes`, async () => {
      const data = randomBytes(size);
      const { p, path, heldOk } = await stream(data, [...sizes], direct);
      expect(p.written).toBe(size);
      expect(p.accepted).toBe(size);
      expect(p.direct).toBeUndefined(); // closed once written
      const disk = await readFile(path);
      expect(disk.length).toBe(size);
      expect(sha(disk)).toBe(sha(data));
      if (size > ALIGN) expect(heldOk).toBeGreaterThan(0);
    });
  }
});

describe("direct writes from the upstream's own memory", () => {
  it('chunks that are views of aligned memory go to the disk as they are (no staging copy), byte-exact', async () => {
    const size = 3 * WRITE_BATCH + 12_345;
    const data = alignedBuffer(size);
    randomBytes(size).copy(data);
    let staged: Buffer | undefined;
    const { path } = await stream(data, [229_376, 4096 * 3, 65_536 + 7, 1_000_003], true, (p) => {
      staged = p.stage;
    });
    expect(staged, 'no batch went through the staging buffer').toBeUndefined();
    expect(sha(await readFile(path))).toBe(sha(data));
  });

  it('directSegments joins touching views of one buffer and refuses anything unaligned', () => {
    const a = alignedBuffer(4 * ALIGN);
    const joined = directSegments([a.subarray(0, 100), a.subarray(100, ALIGN), a.subarray(ALIGN, 3 * ALIGN)]);
    expect(joined?.map((b) => [b.byteOffset - a.byteOffset, b.length])).toEqual([[0, 3 * ALIGN]]);
    const b = alignedBuffer(ALIGN);
    expect(directSegments([a.subarray(0, ALIGN), b])?.length).toBe(2);
    expect(directSegments([a.subarray(0, ALIGN + 1)])).toBeUndefined(); // length
    expect(directSegments([a.subarray(1, ALIGN + 1)])).toBeUndefined(); // address
    expect(directSegments([a.subarray(0, 100), a.subarray(200, ALIGN + 100)])).toBeUndefined(); // a gap: not joined
  });
});

it('the direct descriptor is the same file as the tmp file even if its path was swapped meanwhile', async () => {
  const path = join(dir, 'swapped');
  const fh = await open(path, 'wx+', 0o600);
  await rm(path); // the path goes (a look-alike could be put there); the open file stays
  await writeFile(path, 'look-alike');
  const dfh = await openDirect(fh);
  if (!dfh) throw new Error(`O_DIRECT is not supported on ${dir} (the file system of the temp dir)`);
  const p = newPart('unified', fh, dfh, path, 2 * ALIGN);
  const data = randomBytes(2 * ALIGN);
  appendChunk(p, data);
  await finishPart(p);
  await syncPart(p);
  const back = Buffer.alloc(data.length);
  await fh.read(back, 0, back.length, 0);
  await fh.close();
  expect(back.equals(data)).toBe(true);
  expect(await readFile(path, 'utf8')).toBe('look-alike');
});
