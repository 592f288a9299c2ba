// What the guest API needs, constructed once at start and passed in.
import type { Logger } from 'pino';
import type { ImageService } from '../images/index.ts';
import type { Inventory } from '../inventory/inventory.ts';
import type { ReadyStore } from '../state/ready.ts';
import type { Dialect } from './dialects.ts';
import type { EventHub } from './events/hub.ts';
import type { EventBudget } from './events/budget.ts';

/** The slice of the image service the guest API uses. */
export type GuestImages = Pick<ImageService, 'lookup' | 'serveExport'>;

export interface GuestDeps {
  readonly inventory: Inventory;
  readonly dialect: Dialect;
  readonly ready: ReadyStore;
  readonly hub: EventHub;
  readonly images: GuestImages | undefined;
  /** `location` for dialects that report the host (LXD 6.x, Incus). */
  readonly location: string;
  readonly events: {
    readonly keepaliveMs: number;
    readonly maxQueue: number;
    readonly maxBytes: number;
    readonly stallMs: number;
    /** Process-wide bound on bytes queued for all listeners (guest.events.max_total_bytes). */
    readonly budget?: EventBudget;
  };
  /** lxd-5.0 with guest.record_ready: PATCH /1.0 is recorded, answered as LXD 5.0.2 does. */
  readonly recordReadyQuietly?: boolean;
  readonly log: Logger;
  /** Per-instance request rate limit: 0 when a request may go, else the ms to wait (absent: off). */
  readonly rateLimit?: (instance: string) => number;
}
