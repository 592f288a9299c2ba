// SO_PEERCRED on a connected unix socket: the kernel recorded the peer's pid/uid/gid at connect()
// and translates them into OUR namespaces, so these are host values. The uid is the one fact used
// as is; the pid only names the process whose pidfd (SO_PEERPIDFD) carries every other fact.
import type { Socket } from 'node:net';
import { getsockopt, SO_PEERCRED, SOL_SOCKET } from './native.ts';

export interface PeerCredentials {
  readonly pid: number;
  readonly uid: number;
  readonly gid: number;
}

const UCRED_SIZE = 12; // struct ucred { pid_t pid; uid_t uid; gid_t gid; }

/** The fd behind a net.Socket accepted on a unix listener (libuv pipe handle). */
export function socketFd(socket: Socket): number | undefined {
  const fd = (socket as unknown as { _handle?: { fd?: number } })._handle?.fd;
  return typeof fd === 'number' && fd >= 0 ? fd : undefined;
}

/** Credentials of the process that connect()ed, or undefined when they cannot be read. */
export function peerCredentials(fd: number): PeerCredentials | undefined {
  const buf = Buffer.alloc(UCRED_SIZE);
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, buf, [UCRED_SIZE]) !== 0) return undefined;
  const pid = buf.readInt32LE(0);
  if (pid <= 0) return undefined; // peer in a pid namespace we cannot see
  return { pid, uid: buf.readUInt32LE(4), gid: buf.readUInt32LE(8) };
}
