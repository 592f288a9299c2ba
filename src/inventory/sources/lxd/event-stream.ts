// The server's lifecycle event websocket, kept open: the first connect() rejects when the server cannot
// be reached; after that a lost stream reconnects with capped exponential backoff and calls
// `onReconnect` (the source then resyncs: events may have been missed while it was down).
import type { Logger } from 'pino';
import type WebSocket from 'ws';
import type { LxdClient } from '../../../lxd/client.ts';
import type { LxdEvent } from './events.ts';

export interface EventStreamOptions {
  readonly client: LxdClient;
  /** `project=<p>` or `all-projects=true`. */
  readonly query: string;
  readonly log: Logger;
  readonly onEvent: (e: LxdEvent) => void;
  readonly onReconnect: () => void;
  /** Reconnect backoff (default 250 ms doubling to 15 s). */
  readonly backoff?: { readonly minMs: number; readonly maxMs: number } | undefined;
}

export class EventStream {
  readonly #o: EventStreamOptions;
  #ws: WebSocket | undefined;
  #retryTimer: NodeJS.Timeout | undefined;
  #attempt = 0;
  #stopped = false;
  /** Number of times the stream was (re)connected. */
  connects = 0;
  /** Why the server cannot be reached right now (for /healthz), or undefined. */
  unreachable: string | undefined;

  constructor(opts: EventStreamOptions) {
    this.#o = opts;
  }

  connect(): Promise<void> {
    const { client, log } = this.#o;
    return new Promise((resolve, reject) => {
      const ws = client.events(this.#o.query);
      let opened = false;
      ws.on('open', () => {
        opened = true;
        this.#ws = ws;
        this.connects++;
        this.#attempt = 0;
        this.unreachable = undefined;
        resolve();
      });
      ws.on('message', (data, isBinary) => {
        if (isBinary) return;
        try {
          this.#o.onEvent(JSON.parse(String(data)) as LxdEvent);
        } catch (e) {
          log.warn({ err: e }, 'unreadable LXD event');
        }
      });
      ws.on('error', (e) => {
        if (!opened) reject(e);
        else log.warn({ err: e, where: client.where }, 'LXD event stream error');
      });
      ws.on('close', () => {
        if (!opened) return reject(new Error('connection closed before the handshake'));
        if (this.#ws === ws) this.#ws = undefined;
        if (!this.#stopped) {
          this.unreachable = `${client.where}: event stream closed; reconnecting`;
          log.warn({ where: client.where }, 'LXD event stream closed; reconnecting');
          this.#scheduleReconnect();
        }
      });
    });
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#retryTimer);
    this.#ws?.terminate();
    this.#ws = undefined;
  }

  #scheduleReconnect(): void {
    if (this.#stopped) return;
    const { client, log } = this.#o;
    const { minMs, maxMs } = this.#o.backoff ?? { minMs: 250, maxMs: 15_000 };
    const delay = Math.min(maxMs, minMs * 2 ** this.#attempt++);
    this.#retryTimer = setTimeout(() => {
      this.connect().then(
        () => {
          log.info({ where: client.where }, 'LXD event stream reconnected; resyncing');
          this.#o.onReconnect();
        },
        (e: unknown) => {
          this.unreachable = `${client.where}: ${(e as Error)?.message ?? String(e)}`;
          log.debug({ err: e, where: client.where, attempt: this.#attempt }, 'LXD still unreachable');
          this.#scheduleReconnect();
        },
      );
    }, delay);
  }
}
