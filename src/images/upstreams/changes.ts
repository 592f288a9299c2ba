// What an upstream says about its own changes, so that lookups can reuse its answers without ever
// being older than a change: while `connected`, every change to an image reaches `onChange` before
// any later answer is read; while not connected, answers must not be reused.
export interface ChangeFeed {
  readonly connected: boolean;
  /** `fingerprint` changed (created, updated: public flag, properties; deleted); undefined: anything may have. */
  onChange(listener: (fingerprint: string | undefined) => void): void;
  close(): void;
}

/** LXD/Incus image lifecycle actions that change what a guest may see. */
const IMAGE_ACTIONS = new Set(['image-created', 'image-updated', 'image-deleted', 'image-refreshed']);

/** Pure: the fingerprint an LXD/Incus lifecycle event is about, when it changes an image of `project`. */
export function imageChanged(e: unknown, project: string): string | undefined {
  if (typeof e !== 'object' || e === null) return undefined;
  const ev = e as { type?: unknown; project?: unknown; metadata?: { action?: unknown; source?: unknown } | null };
  if (ev.type !== 'lifecycle' || typeof ev.metadata?.action !== 'string' || typeof ev.metadata.source !== 'string')
    return undefined;
  if (!IMAGE_ACTIONS.has(ev.metadata.action)) return undefined;
  const [path = '', query = ''] = ev.metadata.source.split('?', 2);
  const m = /^\/1\.0\/images\/([0-9a-f]{64})$/.exec(path);
  if (!m) return undefined;
  const evProject =
    (typeof ev.project === 'string' && ev.project ? ev.project : undefined) ??
    new URLSearchParams(query).get('project') ??
    'default';
  return evProject === project ? m[1] : undefined;
}
