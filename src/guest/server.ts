// The guest socket: one unix listener shared by every instance, in its own folder (the folder is
// what gets bind-mounted at /dev/lxd, so a restart's new socket is seen by running guests).
import { createServer, ServerResponse, type IncomingMessage, type Server } from 'node:http';
import type { Socket } from 'node:net';
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import type Koa from 'koa';
import { attachCaller } from './caller.ts';
import { authorize } from './authorize.ts';
import type { GuestDeps } from './deps.ts';
import { goServerReject } from './go-server-errors.ts';
import { MALFORMED_REQUEST, rawResponse, toWireError } from './http-errors.ts';
import { WebSocketEvents } from './routes/events.ts';
import { listenFd, listenUnix, sharedSocketProblem, type UnixListening } from '../net/unix-listen.ts';
import { cleanPath } from './app.ts';
import { guardConnections, serverTimeouts, type ListenerLimits } from '../net/conn-guard.ts';
import { guestConnKey } from './conn-key.ts';

export interface GuestServer {
  readonly server: Server;
  readonly path: string;
  /** Close; `keepSocket` for a restart's handover (the new process serves the same socket file). */
  close(opts?: { keepSocket?: boolean }): Promise<void>;
}

export async function startGuestServer(
  app: Koa,
  deps: GuestDeps,
  socketPath: string,
  limits?: ListenerLimits,
  /** An inherited listening fd (socket activation, restart): served as is, nothing bound or chmod-ed. */
  fd?: number,
): Promise<GuestServer> {
  const koa = app.callback();
  // What Go's server refuses before routing (bad %-escape, no Host on HTTP/1.1, HTTP/2.0 line), with its bytes.
  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    const reject = goServerReject(req);
    if (reject === undefined) void koa(req, res);
    else req.socket.end(reject);
  };
  const ws = new WebSocketEvents(deps);
  const server = createServer({ requireHostHeader: false, ...serverTimeouts(limits, 30_000) }, handler);
  server.on('connection', (socket: Socket) => attachCaller(socket));
  if (limits)
    guardConnections(server, { ...limits, listener: 'guest', keyOf: (s) => guestConnKey(s, deps.inventory, limits) });
  server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
    // LXD picks WebSocket mode only for `Upgrade: websocket` exactly; anything else is a plain request.
    if (cleanPath(req.url?.split('?')[0] ?? '') === '/1.0/events' && req.headers.upgrade === 'websocket') {
      try {
        ws.upgrade(req, socket, head, authorize(socket, 'events', deps.inventory, deps.dialect));
      } catch (e) {
        socket.end(rawResponse(toWireError(e, deps.dialect)));
      }
      return;
    }
    if (head.length) socket.unshift(head);
    const res = new ServerResponse(req);
    res.assignSocket(socket);
    res.shouldKeepAlive = false;
    res.on('finish', () => socket.end());
    handler(req, res);
  });
  server.on('clientError', (_err, socket: Socket) => {
    if (socket.writable) socket.end(MALFORMED_REQUEST);
  });

  let bound: UnixListening | undefined;
  if (fd !== undefined) {
    await listenFd(server, fd);
    const problem = await sharedSocketProblem(socketPath);
    if (problem) deps.log.warn({ socket: socketPath }, `inherited guest socket: ${problem}`);
  } else {
    await mkdir(dirname(socketPath), { recursive: true, mode: 0o755 });
    // Any process may connect; authorization is per request from the peer's credentials.
    bound = await listenUnix(server, socketPath, 0o666);
  }
  return {
    server,
    path: socketPath,
    close: async (opts) => {
      ws.close();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      if (!opts?.keepSocket) await bound?.removeIfOurs();
    },
  };
}
