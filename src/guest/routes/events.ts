// GET /1.0/events: a WebSocket when `Upgrade` is exactly "websocket", else LXD's raw stream (a fixed
// LF-only preamble, then one JSON document + LF per event, until the client sends anything or leaves).
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { Context } from 'koa';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Resolved } from '../../inventory/inventory.ts';
import { longLived } from '../../net/graceful.ts';
import type { GuestDeps } from '../deps.ts';
import { parseTypeFilter } from '../events/encode.ts';
import { BoundedSender } from '../events/sender.ts';

export const STREAM_PREAMBLE =
  'HTTP/1.1 200 OK\nConnection: keep-alive\nContent-Type: application/json\nX-Content-Type-Options: nosniff\n\n';

const typeQuery = (url: string | undefined): string | undefined => {
  const q = url?.indexOf('?') ?? -1;
  return q < 0 ? undefined : (new URLSearchParams(url!.slice(q + 1)).get('type') ?? undefined);
};

export function streamEvents(deps: GuestDeps) {
  return (ctx: Context, r: Resolved): void => {
    ctx.status = 200; // what the preamble says (metrics read it; nothing is sent by Koa)
    ctx.respond = false; // the connection is ours now
    const socket = ctx.req.socket;
    longLived(socket); // a stop does not wait for it to end
    socket.setTimeout(0);
    socket.write(STREAM_PREAMBLE);
    const sender = new BoundedSender(
      (data, done) => void socket.write(data, done),
      deps.events,
      (reason) => {
        deps.log.warn({ instance: r.instance.key, reason }, 'event listener dropped');
        socket.destroy();
      },
    );
    const remove = deps.hub.add(r.instance.key, {
      types: parseTypeFilter(typeQuery(ctx.req.url)),
      send: (data) => sender.send(data),
      close: () => socket.end(),
    });
    const end = (): void => {
      sender.close();
      remove();
      socket.destroy();
    };
    // Any byte from the client, or EOF, ends the stream (as LXD's 1-byte read does).
    socket.once('data', end);
    socket.once('end', end);
    socket.once('close', end);
  };
}

/** The WebSocket flavour, entered from the server's 'upgrade' event once the caller is authorized. */
export class WebSocketEvents {
  readonly #wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, maxPayload: 64 * 1024 });
  readonly #deps: GuestDeps;

  constructor(deps: GuestDeps) {
    this.#deps = deps;
  }

  upgrade(req: IncomingMessage, socket: Socket, head: Buffer, r: Resolved): void {
    this.#wss.handleUpgrade(req, socket, head, (ws) => this.#serve(ws, req, r));
  }

  close(): void {
    for (const ws of this.#wss.clients) ws.terminate();
    this.#wss.close();
  }

  #serve(ws: WebSocket, req: IncomingMessage, r: Resolved): void {
    const deps = this.#deps;
    const sender = new BoundedSender(
      (data, done) => ws.send(data, { binary: false }, done),
      deps.events,
      (reason) => {
        deps.log.warn({ instance: r.instance.key, reason }, 'event listener dropped');
        ws.terminate();
      },
    );
    const remove = deps.hub.add(r.instance.key, {
      types: parseTypeFilter(typeQuery(req.url)),
      send: (data) => sender.send(data),
      close: () => ws.close(1000),
    });
    // Ping now and every keepalive; more than 2 unanswered pings closes the listener.
    let unanswered = 0;
    const ping = (): void => {
      if (unanswered > 2) return void ws.terminate();
      unanswered++;
      ws.ping(deps.dialect.pingPayload);
    };
    ping();
    const timer = setInterval(ping, deps.events.keepaliveMs);
    ws.on('pong', () => (unanswered = 0));
    // The server never expects data: the first message from the client ends the listener.
    ws.on('message', () => ws.close(1000));
    ws.on('close', () => {
      clearInterval(timer);
      sender.close();
      remove();
    });
    ws.on('error', () => ws.terminate());
  }
}
