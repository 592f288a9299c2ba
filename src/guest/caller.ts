// Who is on the other end of a guest connection: peer credentials and kernel facts, read ONCE at
// accept time and kept on the socket, so each request costs a map lookup.
import type { Socket } from 'node:net';
import { readCallerFacts, type CallerFacts } from '../identity/facts.ts';
import { peerCredentials } from '../identity/peercred.ts';

const CALLER = Symbol('guestgate.caller');
type Tagged = Socket & { [CALLER]?: CallerFacts | null };

export function attachCaller(socket: Socket): CallerFacts | null {
  const cred = peerCredentials(socket);
  const facts = cred ? readCallerFacts(cred) : null;
  (socket as Tagged)[CALLER] = facts;
  return facts;
}

/** Facts of the connection's peer; null when credentials could not be read. */
export function callerOf(socket: Socket): CallerFacts | null {
  const t = socket as Tagged;
  return t[CALLER] === undefined ? attachCaller(socket) : t[CALLER];
}
