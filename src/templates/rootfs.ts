// Writes rendered template files into a rootfs where LXD 5.0.2 does: the target path joined to the
// rootfs (relative paths too, never escaping it), missing parent folders made 0755 and new files
// 0644, both owned by `owner` (the instance's root on the host, so the guest sees root), existing
// files truncated in place so they KEEP their mode and owner, `create_only` files skipped when they exist (even if shipped in the rootfs).
// Unlike LXD (which follows them on the host), a symlink on the way or at the target is refused.
import {
  chmodSync,
  closeSync,
  constants,
  lchownSync,
  fchmodSync,
  fchownSync,
  lstatSync,
  mkdirSync,
  openSync,
  writeSync,
} from 'node:fs';
import { posix } from 'node:path';
import { GuestgateError } from '../errors.ts';
import type { RenderedFile } from './apply.ts';
import { toBytes } from './values.ts';

export type WriteAction = 'created' | 'overwritten' | 'skipped';
export interface Written {
  readonly path: string;
  readonly target: string;
  readonly action: WriteAction;
  readonly bytes: number;
}

const exists = (p: string): ReturnType<typeof lstatSync> | undefined => lstatSync(p, { throwIfNoEntry: false });

/** The host path of a guest path under `rootfs` (normalised below the rootfs: `..` cannot leave it). */
export const targetIn = (rootfs: string, guestPath: string): string =>
  posix.join(rootfs, posix.normalize(`/${guestPath}`));

function parents(rootfs: string, target: string, owner: { uid: number; gid: number }): void {
  const rel = posix.relative(rootfs, posix.dirname(target));
  let at = rootfs;
  for (const seg of rel ? rel.split('/') : []) {
    at = posix.join(at, seg);
    const st = exists(at);
    if (!st) {
      mkdirSync(at, { mode: 0o755 });
      chmodSync(at, 0o755);
      lchownSync(at, owner.uid, owner.gid);
      continue;
    }
    if (st.isSymbolicLink())
      throw new GuestgateError('E_TEMPLATE', `${at} is a symlink: refusing to write template output through it`);
    if (!st.isDirectory()) throw new GuestgateError('E_TEMPLATE', `${at} is not a directory`);
  }
}

export function writeRendered(
  rootfs: string,
  files: readonly RenderedFile[],
  owner: { uid: number; gid: number } = { uid: 0, gid: 0 },
): Written[] {
  const out: Written[] = [];
  for (const f of files) {
    const target = targetIn(rootfs, f.path);
    parents(rootfs, target, owner);
    const st = exists(target);
    if (st?.isSymbolicLink()) throw new GuestgateError('E_TEMPLATE', `${target} is a symlink: refusing to write it`);
    if (st && f.createOnly) {
      out.push({ path: f.path, target, action: 'skipped', bytes: 0 });
      continue;
    }
    const flags =
      constants.O_WRONLY | constants.O_NOFOLLOW | (st ? constants.O_TRUNC : constants.O_CREAT | constants.O_EXCL);
    const fd = openSync(target, flags, 0o644);
    try {
      if (!st) {
        fchmodSync(fd, 0o644);
        fchownSync(fd, owner.uid, owner.gid);
      }
      const buf = toBytes(f.content);
      for (let off = 0; off < buf.length; ) off += writeSync(fd, buf, off);
      out.push({ path: f.path, target, action: st ? 'overwritten' : 'created', bytes: buf.length });
    } finally {
      closeSync(fd);
    }
  }
  return out;
}
