// Shapes of LXD/Incus REST answers that guestgate reads, and how to take the envelope apart.

/** The fields of LXD's api.Instance that guestgate reads. */
export interface LxdInstance {
  name?: unknown;
  project?: unknown;
  type?: unknown;
  location?: unknown;
  status?: unknown;
  profiles?: unknown;
  expanded_config?: unknown;
  expanded_devices?: unknown;
  /** The instance's own config and devices (without its profiles'). */
  config?: unknown;
  devices?: unknown;
  architecture?: unknown;
  ephemeral?: unknown;
  stateful?: unknown;
  description?: unknown;
}

/** What `PUT /1.0/instances/<name>` takes (LXD's api.InstancePut). */
export interface InstancePut {
  architecture: string;
  config: Record<string, string>;
  devices: Record<string, Record<string, string>>;
  ephemeral: boolean;
  profiles: string[];
  stateful: boolean;
  description: string;
}

/** The `error` text of an error envelope (or the first 200 characters of whatever came back). */
export const envelopeError = (body: unknown): string =>
  typeof body === 'object' && body !== null && typeof (body as { error?: unknown }).error === 'string'
    ? (body as { error: string }).error
    : String(body).slice(0, 200);

/** The `metadata` of a sync response envelope. */
export const envelopeMetadata = (body: unknown): unknown =>
  typeof body === 'object' && body !== null ? (body as { metadata?: unknown }).metadata : undefined;
