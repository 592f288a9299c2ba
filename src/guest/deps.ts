// What the guest API needs, constructed once at start and passed in.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { Inventory } from '../inventory/inventory.ts';
import type { ReadyStore } from '../state/ready.ts';
import type { Dialect } from './dialects.ts';
import type { EventHub } from './events/hub.ts';

/** The slice of the image service the guest API uses (src/images implements it). */
export interface GuestImages {
  lookup(fingerprint: string, mode: 'prefix' | 'exact'): Promise<object | undefined>;
  serveExport(
    req: IncomingMessage,
    res: ServerResponse,
    image: never,
    opts: { signal: AbortSignal; extraHeaders?: Record<string, string> },
  ): Promise<void>;
}

export interface GuestDeps {
  readonly inventory: Inventory;
  readonly dialect: Dialect;
  readonly ready: ReadyStore;
  readonly hub: EventHub;
  readonly images: GuestImages | undefined;
  /** `location` for dialects that report the host (LXD 6.x, Incus). */
  readonly location: string;
  readonly events: { readonly keepaliveMs: number; readonly maxQueue: number; readonly stallMs: number };
  readonly log: Logger;
}
