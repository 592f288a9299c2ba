// Stop accepting without dropping a connection already accepted. Node's http `server.close()` also
// closes every "idle" connection, which includes one accepted a moment ago whose request has not
// arrived yet, and `closeAllConnections()` cuts even those with a request in progress: during a
// restart either caller would see a reset although it connected fine. Here only the listening handle
// closes; a connection that has not sent its request yet is answered (its header deadline still
// applies), then closed; kept-alive connections close after their response in progress, or at once
// when idle between requests. `settled()` waits for exactly those, so that the final close cuts only
// long-lived connections (event streams, WebSockets), whose clients reconnect.
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { Server as NetServer, type Socket } from 'node:net';
import { Server as TlsServer } from 'node:tls';

export interface Graceful {
  /** Close the listening socket; connections already accepted end after their current request. */
  stopAccepting(): void;
  /**
   * Resolves once every connection is closed or long-lived (upgraded, or marked by `longLived`),
   * i.e. no caller waits for an answer any more; at the latest after `ms`.
   */
  settled(ms: number): Promise<void>;
}

/** Connections whose response never ends by design (the raw event stream); stop() does not wait for them. */
const LONG_LIVED = new WeakSet<Socket>();
export const longLived = (socket: Socket): void => void LONG_LIVED.add(socket);

type State = 'fresh' | 'busy' | 'idle';

export function graceful(server: Server): Graceful {
  /** Every open connection: fresh (no request yet), busy (a response in progress) or idle (kept alive). */
  const open = new Map<Socket, State>();
  let stopping = false;
  let onChange: (() => void) | undefined;
  const set = (socket: Socket, state: State | undefined): void => {
    if (state === undefined) open.delete(socket);
    else open.set(socket, state);
    onChange?.();
  };
  server.on(server instanceof TlsServer ? 'secureConnection' : 'connection', (socket: Socket) => {
    set(socket, 'fresh');
    socket.once('close', () => set(socket, undefined));
  });
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const socket = req.socket;
    set(socket, 'busy');
    if (stopping) res.shouldKeepAlive = false;
    res.once('finish', () => {
      if (stopping) socket.end();
      if (open.has(socket)) set(socket, 'idle');
    });
  });
  server.on('upgrade', (req: IncomingMessage) => longLived(req.socket));
  const waiting = (): boolean => {
    for (const [socket, state] of open) if (state !== 'idle' && !LONG_LIVED.has(socket)) return true;
    return false;
  };
  return {
    stopAccepting() {
      if (stopping) return;
      stopping = true;
      // net.Server's close: the listening handle only (http's would also close fresh connections).
      if (server.listening) NetServer.prototype.close.call(server);
      for (const [socket, state] of open) if (state === 'idle') socket.end();
    },
    settled: (ms) =>
      new Promise<void>((resolve) => {
        const done = (): void => {
          clearTimeout(timer);
          onChange = undefined;
          resolve();
        };
        const timer = setTimeout(done, ms);
        timer.unref();
        onChange = () => {
          if (!waiting()) done();
        };
        onChange();
      }),
  };
}
