// Reads the facts src/images/validate.ts decides on: magic bytes of each file and, for tarballs, what a
// streaming scan finds (metadata.yaml, architecture, creation_date, the rootfs entry). Stops early:
// a multi-GB image costs a few KB of decompression.
import { open, stat } from 'node:fs/promises';
import { GuestgateError, type ErrorCode } from '../errors.ts';
import { SNIFF_BYTES, sniffExtension } from './magic.ts';
import { readImageMetadata } from './fill/metadata.ts';
import type { PartRole } from './store/manifest.ts';
import { imageProblems, TARBALL_EXTS, type PartFacts } from './validate.ts';

const badInput = (path: string, e: NodeJS.ErrnoException): Error => {
  if (e.code === 'ENOENT') return new GuestgateError('E_BAD_REQUEST', `${path}: no such file`, { file: path });
  if (e.code === 'EISDIR')
    return new GuestgateError('E_BAD_REQUEST', `${path}: is a folder, not a file`, { file: path });
  return e;
};

/** An input file's size; a missing file is a bad request naming it. */
export async function inputSize(path: string): Promise<number> {
  const st = await stat(path).catch((e: NodeJS.ErrnoException) => {
    throw badInput(path, e);
  });
  if (st.isDirectory()) throw badInput(path, Object.assign(new Error('EISDIR'), { code: 'EISDIR' }));
  return st.size;
}

/** The file's type by magic bytes; a missing file is a bad request naming it. */
export async function sniff(path: string): Promise<string> {
  const fh = await open(path, 'r').catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') throw new GuestgateError('E_BAD_REQUEST', `${path}: no such file`, { file: path });
    if (e.code === 'EISDIR')
      throw new GuestgateError('E_BAD_REQUEST', `${path}: is a folder, not a file`, { file: path });
    throw e;
  });
  try {
    const b = Buffer.alloc(SNIFF_BYTES);
    const { bytesRead } = await fh.read(b, 0, SNIFF_BYTES, 0);
    return sniffExtension(b.subarray(0, bytesRead));
  } finally {
    await fh.close();
  }
}

export async function partFacts(path: string, role: PartRole, name = path): Promise<PartFacts> {
  const ext = await sniff(path);
  if (role === 'rootfs' || role === 'rootfs.img' || !TARBALL_EXTS.includes(ext)) return { name, role, ext };
  const m = await readImageMetadata(path, ext, role === 'unified').catch(() => undefined);
  const metadata = m
    ? {
        yaml: true,
        architecture: m.architecture,
        ...(m.creationDate !== undefined ? { creationDate: m.creationDate } : {}),
        ...(m.rootfs ? { rootfs: m.rootfs } : {}),
      }
    : undefined;
  return { name, role, ext, ...(metadata ? { metadata } : {}) };
}

/** Throws `code` naming every problem when the files are not an LXD image. */
export async function assertImage(
  parts: readonly { path: string; role: PartRole; name?: string }[],
  code: ErrorCode,
): Promise<void> {
  const facts = [];
  for (const p of parts) facts.push(await partFacts(p.path, p.role, p.name));
  const problems = imageProblems(facts);
  if (problems.length) throw new GuestgateError(code, `not a valid LXD image: ${problems.join('; ')}`, { problems });
}
