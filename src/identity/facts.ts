// What we learn about a connecting process, once, at accept time.
import type { PeerCredentials } from './peercred.ts';
import { cgroupPaths, nsInode } from './procfs.ts';

export interface CallerFacts {
  readonly cred: PeerCredentials;
  /** Inode of the caller's pid namespace (undefined if the process already exited). */
  readonly pidns: number | undefined;
  /** Caller's cgroup paths (one per hierarchy; usually all equal). */
  readonly cgroups: readonly string[];
}

export function readCallerFacts(cred: PeerCredentials): CallerFacts {
  return { cred, pidns: nsInode(cred.pid, 'pid'), cgroups: cgroupPaths(cred.pid) ?? [] };
}

/** Every ancestor path of a cgroup, longest first, by whole segments: "/a/b" -> ["/a/b", "/a"]. */
export function cgroupPrefixes(path: string): string[] {
  const out: string[] = [];
  let p = path.replace(/\/+$/, '');
  while (p.length > 0) {
    out.push(p);
    p = p.slice(0, p.lastIndexOf('/'));
  }
  return out;
}
