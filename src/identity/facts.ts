// What we learn about a connecting process, once, at accept time, through a pidfd so the facts can
// only describe the process that connected: if it is gone before they are confirmed, no facts.
import { statSync } from 'node:fs';
import { mechanism } from './mechanism.ts';
import { ENOPROTOOPT } from './native.ts';
import type { PeerCredentials } from './peercred.ts';
import { closeFd, isAlive, openPidfd, peerPidfd, pidfdInfo, pidnsInode } from './pidfd.ts';
import { CGROUP2_ROOT, cgroupText, nsInode, parseCgroupFile, unifiedCgroup } from './procfs.ts';

export interface CallerFacts {
  readonly cred: PeerCredentials;
  /** Inode of the caller's pid namespace. */
  readonly pidns: number | undefined;
  /** Caller's cgroup paths (one per hierarchy; usually all equal). */
  readonly cgroups: readonly string[];
}

/**
 * Facts of the peer of connected socket `sockFd` (SO_PEERPIDFD), or undefined when the peer is gone
 * before they are confirmed. The pidfd is closed before returning.
 */
export function readPeerFacts(sockFd: number, cred: PeerCredentials): CallerFacts | undefined {
  const m = mechanism();
  // Kernels < 6.5: the pid is named by SO_PEERCRED only; a pidfd opened now pins whoever holds it
  // now (documented race: the peer exiting and its pid being reused between connect and here).
  if (!m.peerPidfd) return readCallerFacts(cred);
  const r = peerPidfd(sockFd);
  if ('errno' in r) {
    if (r.errno === ENOPROTOOPT) m.disablePeerPidfd();
    return undefined;
  }
  return factsThenClose(r.fd, cred);
}

/** Facts of a process given by pid (tools, tests): the pidfd is opened now. */
export function readCallerFacts(cred: PeerCredentials): CallerFacts | undefined {
  let pidfd: number;
  try {
    pidfd = openPidfd(cred.pid);
  } catch {
    return undefined;
  }
  return factsThenClose(pidfd, cred);
}

function factsThenClose(pidfd: number, cred: PeerCredentials): CallerFacts | undefined {
  try {
    return factsFromPidfd(pidfd, cred);
  } finally {
    closeFd(pidfd);
  }
}

function factsFromPidfd(pidfd: number, cred: PeerCredentials): CallerFacts | undefined {
  const m = mechanism();
  let pidns: number | undefined;
  if (m.getPidNamespace) {
    try {
      pidns = pidnsInode(pidfd);
    } catch {
      return undefined; // ESRCH: gone
    }
  } else pidns = nsInode(cred.pid, 'pid');
  const text = cgroupText(cred.pid);
  if (pidns === undefined || text === undefined) return undefined;
  // Confirm: what /proc/<pid> said was said of the pidfd's process (still alive, so the pid was
  // never free to be reused in between), and its cgroup id matches the cgroup folder we read.
  if (m.getInfo) {
    let info: ReturnType<typeof pidfdInfo>;
    try {
      info = pidfdInfo(pidfd);
    } catch {
      return undefined;
    }
    if (info.pid !== cred.pid) return undefined;
    const unified = unifiedCgroup(text);
    if (info.cgroupId !== undefined && unified !== undefined && cgroupIno(unified) !== info.cgroupId) return undefined; // moved between cgroups while we looked: no facts rather than old ones
  } else if (!isAlive(pidfd)) return undefined;
  return { cred, pidns, cgroups: parseCgroupFile(text) };
}

function cgroupIno(path: string): bigint | undefined {
  try {
    return statSync(`${CGROUP2_ROOT}${path}`, { bigint: true }).ino;
  } catch {
    return undefined;
  }
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
