// Facts about a process taken through a pidfd, so they can never describe another process that
// reused the pid: its pid namespace (PIDFD_GET_PID_NAMESPACE, Linux >= 6.11), its cgroup id and
// pid (PIDFD_GET_INFO, Linux >= 6.13), and whether it still lives (pidfd_send_signal 0, >= 5.1).
import { fstatSync } from 'node:fs';
import * as n from './native.ts';

const PIDFD_GET_PID_NAMESPACE = 0xff05; // _IO(0xFF, 5)
const PIDFD_INFO_SIZE = 64; // PIDFD_INFO_SIZE_VER0
const PIDFD_GET_INFO = (3 << 30) + (PIDFD_INFO_SIZE << 16) + (0xff << 8) + 11; // _IOWR(0xFF, 11, struct pidfd_info)
const PIDFD_INFO_PID = 1n;
const PIDFD_INFO_CGROUPID = 4n;
const NS_GET_NSTYPE = 0xb703; // _IO(0xb7, 3)
const CLONE_NEWPID = 0x20000000;

export class PidfdError extends Error {
  readonly op: string;
  readonly errno: number;
  constructor(op: string, errno: number) {
    super(`${op} failed (errno ${errno})`);
    this.op = op;
    this.errno = errno;
  }
}

/** A pidfd for `pid` (the process it names NOW); throws PidfdError (ESRCH when there is none). */
export function openPidfd(pid: number): number {
  const fd = n.pidfdOpen(pid);
  if (fd < 0) throw new PidfdError('pidfd_open', n.errno());
  return fd;
}

/** The peer's pidfd of a connected unix socket (SO_PEERPIDFD, Linux >= 6.5), or the errno. */
export function peerPidfd(sockFd: number): { fd: number } | { errno: number } {
  const buf = Buffer.alloc(4);
  if (n.getsockopt(sockFd, n.SOL_SOCKET, n.SO_PEERPIDFD, buf, [4]) !== 0) return { errno: n.errno() };
  return { fd: buf.readInt32LE(0) };
}

export const isAlive = (pidfd: number): boolean => n.pidfdSignal0(pidfd) === 0;

/** An open fd on the process's pid namespace and its inode; the caller closes (or holds) the fd. */
export function pidnsOf(pidfd: number): { fd: number; ino: number } {
  const fd = n.ioctlArg(pidfd, PIDFD_GET_PID_NAMESPACE, 0);
  if (fd < 0) throw new PidfdError('PIDFD_GET_PID_NAMESPACE', n.errno());
  try {
    return { fd, ino: fstatSync(fd).ino };
  } catch (e) {
    n.close(fd);
    throw e;
  }
}

/** Inode of the pid namespace, the ns fd closed at once. */
export function pidnsInode(pidfd: number): number {
  const { fd, ino } = pidnsOf(pidfd);
  n.close(fd);
  return ino;
}

export interface PidfdInfo {
  /** The pid in guestgate's pid namespace. */
  readonly pid: number;
  /** The cgroup v2 id (inode of the cgroup's folder), when the kernel reports one. */
  readonly cgroupId: bigint | undefined;
}

/** PIDFD_GET_INFO: throws PidfdError with ESRCH once the process is gone. */
export function pidfdInfo(pidfd: number): PidfdInfo {
  const b = Buffer.alloc(PIDFD_INFO_SIZE);
  b.writeBigUInt64LE(PIDFD_INFO_PID | PIDFD_INFO_CGROUPID, 0);
  if (n.ioctlPtr(pidfd, PIDFD_GET_INFO, b) !== 0) throw new PidfdError('PIDFD_GET_INFO', n.errno());
  const mask = b.readBigUInt64LE(0);
  return { pid: b.readUInt32LE(16), cgroupId: mask & PIDFD_INFO_CGROUPID ? b.readBigUInt64LE(8) : undefined };
}

/** An fd opened on a namespace file is a pid namespace (NS_GET_NSTYPE). */
export const isPidNamespace = (fd: number): boolean => n.ioctlArg(fd, NS_GET_NSTYPE, 0) === CLONE_NEWPID;

export const closeFd = (fd: number): void => {
  n.close(fd);
};

/** Which of the pidfd facilities this kernel has (probed on guestgate's own process). */
export interface PidfdSupport {
  readonly pidfdOpen: boolean;
  readonly getPidNamespace: boolean;
  readonly getInfo: boolean;
}

export function probeSupport(): PidfdSupport {
  const fd = n.pidfdOpen(process.pid);
  if (fd < 0) return { pidfdOpen: false, getPidNamespace: false, getInfo: false };
  try {
    let getPidNamespace = false;
    try {
      pidnsInode(fd);
      getPidNamespace = true;
    } catch {}
    let getInfo = false;
    try {
      pidfdInfo(fd);
      getInfo = true;
    } catch {}
    return { pidfdOpen: true, getPidNamespace, getInfo };
  } finally {
    n.close(fd);
  }
}
