// Stop accepting without dropping a connection already accepted. Node's http `server.close()` also
// closes every "idle" connection, which includes one accepted a moment ago whose request has not
// arrived yet: during a restart that caller would see a reset although it connected fine. Here only
// the listening handle closes; a connection that has not sent its request yet is answered (its
// header deadline still applies), then closed; kept-alive connections close after their response
// in progress, or at once when idle between requests.
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { Server as NetServer, type Socket } from 'node:net';

export interface Graceful {
  /** Close the listening socket; connections already accepted end after their current request. */
  stopAccepting(): void;
}

export function graceful(server: Server): Graceful {
  /** Sockets that have made at least one request: busy (a response in progress) or idle (kept alive). */
  const seen = new Map<Socket, 'busy' | 'idle'>();
  let stopping = false;
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const socket = req.socket;
    if (!seen.has(socket)) socket.once('close', () => seen.delete(socket));
    seen.set(socket, 'busy');
    if (stopping) res.shouldKeepAlive = false;
    res.once('finish', () => {
      if (stopping) socket.end();
      else if (seen.has(socket)) seen.set(socket, 'idle');
    });
  });
  return {
    stopAccepting() {
      if (stopping) return;
      stopping = true;
      // net.Server's close: the listening handle only (http's would also close fresh connections).
      if (server.listening) NetServer.prototype.close.call(server);
      for (const [socket, state] of seen) if (state === 'idle') socket.end();
    },
  };
}
