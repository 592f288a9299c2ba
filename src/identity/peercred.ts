// The one native call: getsockopt(SO_PEERCRED) on a connected unix socket, through koffi (FFI).
// The kernel translates pid/uid/gid into OUR namespaces, so these are host values.
import type { Socket } from 'node:net';
import koffi from 'koffi';

export interface PeerCredentials {
  readonly pid: number;
  readonly uid: number;
  readonly gid: number;
}

const SOL_SOCKET = 1;
const SO_PEERCRED = 17; // Linux (x86_64, arm64)
const UCRED_SIZE = 12; // struct ucred { pid_t pid; uid_t uid; gid_t gid; }

let getsockopt: ((fd: number, level: number, name: number, out: Buffer, len: number[]) => number) | undefined;

function bind(): NonNullable<typeof getsockopt> {
  if (!getsockopt) {
    const libc = koffi.load('libc.so.6');
    getsockopt = libc.func(
      'int getsockopt(int fd, int level, int optname, _Out_ uint8_t *optval, _Inout_ uint32_t *optlen)',
    );
  }
  return getsockopt!;
}

/** The fd behind a net.Socket accepted on a unix listener (libuv pipe handle). */
function socketFd(socket: Socket): number | undefined {
  const fd = (socket as unknown as { _handle?: { fd?: number } })._handle?.fd;
  return typeof fd === 'number' && fd >= 0 ? fd : undefined;
}

/** Credentials of the process that connect()ed, or undefined when they cannot be read. */
export function peerCredentials(socket: Socket): PeerCredentials | undefined {
  const fd = socketFd(socket);
  if (fd === undefined) return undefined;
  const buf = Buffer.alloc(UCRED_SIZE);
  if (bind()(fd, SOL_SOCKET, SO_PEERCRED, buf, [UCRED_SIZE]) !== 0) return undefined;
  const pid = buf.readInt32LE(0);
  if (pid <= 0) return undefined; // peer in a pid namespace we cannot see
  return { pid, uid: buf.readUInt32LE(4), gid: buf.readUInt32LE(8) };
}
