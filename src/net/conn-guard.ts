// Hooks connection limits into one HTTP(S) listener: caps (through a shared ConnCounter) and a header
// deadline from accept to the first request (one timer per connection; Node has none for a caller
// that connects and sends nothing). After that Node enforces the rest, set from the same config:
// keepAliveTimeout (the idle deadline after each response) and headersTimeout (later requests), with
// its check interval at 1 s so both hold within about a second.
import type { IncomingMessage, Server } from 'node:http';
import type { Socket } from 'node:net';
import { Server as TlsServer } from 'node:tls';
import { type ConnCounter, LogOnce, type Refusal } from './conn-limits.ts';

export interface CallerKey {
  /** Accounting key (prefixed by the caller's kind: instance, unknown, address). */
  readonly key: string;
  /** Cap on this key's open connections. */
  readonly cap: number;
}

/** What service.ts hands every listener: the shared counter, timeouts, caps and metrics hooks. */
export interface ListenerLimits {
  readonly counter: ConnCounter;
  readonly headerTimeoutMs: number;
  readonly idleTimeoutMs: number;
  /** Cap for a known instance (or, on NoCloud, a source address). */
  readonly perInstance: number;
  /** Cap for a caller in no known instance. */
  readonly perUnknown: number;
  /** A connection was closed by a cap (reason) or by the first request's header deadline. */
  onRefused?(listener: string, reason: Refusal): void;
  onTimeout?(listener: string, phase: 'header' | 'idle'): void;
  /** Called at most once per key per minute when the key is refused. */
  onRefusedLog?(listener: string, key: string, reason: Refusal, held: number): void;
}

export interface ConnGuardOptions extends ListenerLimits {
  readonly listener: string;
  /** The caller's key, read once at accept time. */
  keyOf(socket: Socket): CallerKey;
}

/**
 * Node's per-server timeouts matching the guard (pass into createServer). `requestMs` is the listener's
 * whole-request deadline (0: none, for uploads); it is raised to the header timeout when that is
 * longer, since Node refuses a headersTimeout above a non-zero requestTimeout.
 */
export const serverTimeouts = (l: ListenerLimits | undefined, requestMs: number) => {
  const requestTimeout = requestMs === 0 ? 0 : Math.max(requestMs, l?.headerTimeoutMs ?? 0);
  return l
    ? {
        headersTimeout: l.headerTimeoutMs,
        requestTimeout,
        keepAliveTimeout: l.idleTimeoutMs,
        connectionsCheckingInterval: 1000,
      }
    : { headersTimeout: 10_000, requestTimeout, keepAliveTimeout: 30_000 };
};

interface Tracked {
  timer: NodeJS.Timeout | undefined;
  busy: number;
}

export function guardConnections(server: Server, opts: ConnGuardOptions): void {
  const logOnce = new LogOnce(60_000);
  const tracked = new WeakMap<Socket, Tracked>();
  const arm = (socket: Socket, t: Tracked, phase: 'header' | 'idle'): void => {
    if (t.timer) clearTimeout(t.timer);
    t.timer = setTimeout(
      () => {
        opts.onTimeout?.(opts.listener, phase);
        socket.destroy();
      },
      phase === 'header' ? opts.headerTimeoutMs : opts.idleTimeoutMs,
    );
    t.timer.unref();
  };
  const busy = (socket: Socket): Tracked | undefined => {
    const t = tracked.get(socket);
    if (!t) return undefined;
    if (t.timer) clearTimeout(t.timer);
    t.timer = undefined;
    t.busy++;
    return t;
  };
  // TLS listeners: count the TLS socket once the handshake is done (Node's handshakeTimeout covers it).
  const event = server instanceof TlsServer ? 'secureConnection' : 'connection';
  server.on(event, (socket: Socket) => {
    const { key, cap } = opts.keyOf(socket);
    const refused = opts.counter.admit(key, cap);
    if (refused) {
      opts.onRefused?.(opts.listener, refused);
      if (logOnce.due(key, Date.now())) opts.onRefusedLog?.(opts.listener, key, refused, opts.counter.count(key));
      socket.destroy();
      return;
    }
    const t: Tracked = { timer: undefined, busy: 0 };
    tracked.set(socket, t);
    arm(socket, t, 'header');
    socket.once('close', () => {
      if (t.timer) clearTimeout(t.timer);
      tracked.delete(socket);
      opts.counter.release(key);
    });
  });
  // After the first request, Node enforces the rest: keepAliveTimeout (= idle_timeout) from each
  // response, headersTimeout for later requests' headers (checked every second).
  server.on('request', (req: IncomingMessage) => void busy(req.socket));
  // An upgraded connection (WebSocket events) is busy until it closes.
  server.on('upgrade', (req: IncomingMessage) => void busy(req.socket));
}
