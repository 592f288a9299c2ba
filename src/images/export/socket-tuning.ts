// The guest connection of an image export gets a send buffer of EXPORT_SNDBUF, best effort (a failure
// changes nothing but speed). A unix stream socket queues at most the sender's buffer (~208 KiB by
// default), so every 2 MiB write went out in ~10 pieces, each a trip through the event loop; measured
// inside LXD containers with curl, 1 GiB from the cache: 1.39-2.01 -> 2.37-2.83 GB/s for one guest. Only
// exports get it, and the kernel holds that memory only while the peer has not read it, so what it may
// take is bounded by the exports in flight.
import type { Socket } from 'node:net';
import { EPERM, errno, setsockopt, SO_SNDBUF, SO_SNDBUFFORCE, SOL_SOCKET } from '../../identity/native.ts';

export const EXPORT_SNDBUF = 4 * 1024 * 1024;

/** The file descriptor behind a connected socket, if libuv exposes one (pipes and TCP do). */
export const fdOf = (s: Socket | null | undefined): number | undefined => {
  const fd = (s as unknown as { _handle?: { fd?: unknown } } | null)?._handle?.fd;
  return typeof fd === 'number' && fd >= 0 ? fd : undefined;
};

export function raiseSendBuffer(socket: Socket | null | undefined, bytes = EXPORT_SNDBUF): void {
  const fd = fdOf(socket);
  if (fd === undefined) return;
  const v = Buffer.alloc(4);
  v.writeInt32LE(bytes);
  // The kernel doubles what it is given (bookkeeping); FORCE needs CAP_NET_ADMIN, else capped by wmem_max.
  if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, v, 4) === 0) return;
  if (errno() === EPERM) setsockopt(fd, SOL_SOCKET, SO_SNDBUF, v, 4);
}
