// Held descriptors cost two per indexed instance (init pidfd + pid namespace fd), on top of
// connections: raise the soft RLIMIT_NOFILE to the hard limit at start and report both.
import * as n from './native.ts';

const RLIMIT_NOFILE = 7; // x86_64 and arm64

export interface FdLimit {
  readonly soft: number;
  readonly hard: number;
}

export function fdLimit(): FdLimit | undefined {
  const b = Buffer.alloc(16);
  if (n.getrlimit(RLIMIT_NOFILE, b) !== 0) return undefined;
  return { soft: Number(b.readBigUInt64LE(0)), hard: Number(b.readBigUInt64LE(8)) };
}

/** Raise the soft limit to the hard one; returns the limits now in force. */
export function raiseFdLimit(): FdLimit | undefined {
  const b = Buffer.alloc(16);
  if (n.getrlimit(RLIMIT_NOFILE, b) !== 0) return undefined;
  if (b.readBigUInt64LE(0) < b.readBigUInt64LE(8)) {
    b.writeBigUInt64LE(b.readBigUInt64LE(8), 0);
    n.setrlimit(RLIMIT_NOFILE, b);
  }
  return fdLimit();
}
