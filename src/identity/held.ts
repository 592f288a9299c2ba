// Kernel objects an indexed instance holds open so its facts cannot go stale: the init process (a
// pidfd, watched for exit) and its pid namespace (an fd, so the nsfs inode cannot be handed to a
// new namespace while indexed). A stored pid is only ever turned into a pidfd once, here, and
// checked: alive after every /proc read, optional start time equal, cgroup under the instance's.
import { fstatSync, openSync } from 'node:fs';
import { cgroupPrefixes } from './facts.ts';
import { exitWatcher } from './exit-watch.ts';
import { closeFd, isAlive, isPidNamespace, openPidfd, pidfdInfo, pidnsOf } from './pidfd.ts';
import { cgroupText, type IdMapRange, parseCgroupFile, startTime, uidMap } from './procfs.ts';

export interface HeldNamespace {
  /** Inode of the held pid namespace. */
  readonly pidns: number;
  release(): void;
}

export interface HeldInit extends HeldNamespace {
  readonly pid: number;
  readonly startTime: number | undefined;
  /** uid map of the init (its user namespace), read while it was confirmed alive. */
  readonly uidMap: readonly IdMapRange[] | undefined;
  readonly exited: boolean;
}

export class HoldError extends Error {}

/**
 * Take hold of init process `pid`: refuse (HoldError) when it does not run, its start time differs
 * from `expect.startTime`, or it is not in cgroup `expect.cgroup` (by whole path segments).
 * `onExit` runs once when it exits (not after release()).
 */
export function holdInit(
  pid: number,
  expect: { startTime?: number | undefined; cgroup?: string | undefined },
  onExit: () => void,
): HeldInit {
  let pidfd: number;
  try {
    pidfd = openPidfd(pid);
  } catch {
    throw new HoldError(`init pid ${pid} is not running`);
  }
  let nsFd = -1;
  try {
    const st = startTime(pid);
    const cg = cgroupText(pid);
    const map = uidMap(pid);
    // Everything above was read from /proc/<pid>: it is this pidfd's process only if it still lives.
    if (!isAlive(pidfd) || pidfdInfo(pidfd).pid !== pid) throw new HoldError(`init pid ${pid} exited`);
    if (expect.startTime !== undefined && st !== expect.startTime)
      throw new HoldError(
        `init pid ${pid} started at ${st}, not at identity.init_start_time ${expect.startTime}: the pid was reused`,
      );
    if (expect.cgroup !== undefined) {
      const paths = parseCgroupFile(cg ?? '');
      if (!paths.some((p) => cgroupPrefixes(p).includes(expect.cgroup!)))
        throw new HoldError(`init pid ${pid} is not in cgroup ${expect.cgroup} (a reused pid?)`);
    }
    const ns = pidnsOf(pidfd);
    nsFd = ns.fd;
    let exited = false;
    let released = false;
    const token = exitWatcher.watch(pidfd, () => {
      exited = true;
      if (!released) onExit();
    });
    return {
      pid,
      startTime: st,
      uidMap: map,
      pidns: ns.ino,
      get exited() {
        return exited || !isAlive(pidfd);
      },
      release() {
        if (released) return;
        released = true;
        exitWatcher.unwatch(token);
        closeFd(pidfd);
        closeFd(nsFd);
      },
    };
  } catch (e) {
    closeFd(pidfd);
    if (nsFd >= 0) closeFd(nsFd);
    if (e instanceof HoldError) throw e;
    throw new HoldError(`init pid ${pid}: ${(e as Error).message}`);
  }
}

/** Hold a pid namespace named by a file (/proc/<pid>/ns/pid, or a bind mount of one). */
export function holdNamespaceFile(path: string): HeldNamespace {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    throw new HoldError(`identity.pidns_file ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  if (!isPidNamespace(fd)) {
    closeFd(fd);
    throw new HoldError(`identity.pidns_file ${path} is not a pid namespace file`);
  }
  const pidns = fstatSync(fd).ino;
  let released = false;
  return {
    pidns,
    release() {
      if (!released) closeFd(fd);
      released = true;
    },
  };
}
