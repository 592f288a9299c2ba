// Who is on the other end of a guest connection: peer credentials and kernel facts, read ONCE at
// accept time through the peer's pidfd and kept on the socket, so each request costs a map lookup.
import type { Socket } from 'node:net';
import { readPeerFacts, type CallerFacts } from '../identity/facts.ts';
import { peerCredentials, socketFd } from '../identity/peercred.ts';

const CALLER = Symbol('guestgate.caller');
type Tagged = Socket & { [CALLER]?: CallerFacts | null };

export function attachCaller(socket: Socket): CallerFacts | null {
  const fd = socketFd(socket);
  const cred = fd === undefined ? undefined : peerCredentials(fd);
  const facts = (fd !== undefined && cred && readPeerFacts(fd, cred)) || null;
  (socket as Tagged)[CALLER] = facts;
  return facts;
}

/** Facts of the connection's peer; null when they could not be read and confirmed (peer gone). */
export function callerOf(socket: Socket): CallerFacts | null {
  const t = socket as Tagged;
  return t[CALLER] === undefined ? attachCaller(socket) : t[CALLER];
}
