// What the admin API needs, constructed once in startService and passed in.
import type { Logger } from 'pino';
import type { ImageService } from '../images/index.ts';
import type { Inventory } from '../inventory/inventory.ts';
import type { ReadyStore } from '../state/ready.ts';
import type { TemplateSets } from '../templates/for-instance.ts';
import type { HostEvents } from './host-events.ts';
import type { InstanceService } from './instances.ts';
import type { Observability } from '../metrics/observability.ts';

/** The slice of the image service the admin API uses. */
export type AdminImages = Pick<
  ImageService,
  'list' | 'cacheDir' | 'stats' | 'health' | 'importStream' | 'resolve' | 'remove' | 'pin' | 'verify' | 'gc'
>;

export interface AdminDeps {
  readonly inventory: Inventory;
  readonly ready: ReadyStore;
  readonly instances: InstanceService;
  readonly events: HostEvents;
  readonly obs: Observability;
  /** The image cache: views, and the writes the daemon makes as the cache's only writer. */
  readonly images: AdminImages;
  /** The configured guest API dialect (guest.dialect): the preview's default. */
  readonly dialect: string;
  /** Template sets per instance: its cached image's, else nocloud.templates_dir's, else the default set. */
  readonly templates: TemplateSets;
  readonly maxBody: number;
  /** Cap for readiness long-polls, ms. */
  readonly maxWaitMs: number;
  /** Why guests cannot report readiness with this dialect (wait-ready refuses at once), or undefined. */
  readonly noReadiness?: string | undefined;
  readonly log: Logger;
  /** POST /1.0/restart: hand the sockets to a new process, which answers from then on (serve only). */
  readonly restart?: (() => Promise<{ old_pid: number; new_pid: number }>) | undefined;
}
