// Pure: what one LXD/Incus lifecycle event means for the inventory. Events only say *that* something
// changed; the source then re-reads the instance (or everything) from the API.

/** LXD's api.Event, the parts read here. */
export interface LxdEvent {
  type?: unknown;
  project?: unknown;
  metadata?: unknown;
}

export type EventAction =
  /** `samePid`: a config/device update, which cannot change the init pid. */
  | { readonly kind: 'reread'; readonly project: string; readonly name: string; readonly samePid: boolean }
  | { readonly kind: 'remove'; readonly project: string; readonly name: string }
  | { readonly kind: 'rename'; readonly project: string; readonly oldName: string; readonly name: string }
  | { readonly kind: 'profile'; readonly project: string; readonly profile: string }
  | { readonly kind: 'ignore' };

/** Instance lifecycle actions that can change config, devices, the init pid or existence. */
const REREAD = new Set([
  'instance-created',
  'instance-started',
  'instance-stopped',
  'instance-shutdown',
  'instance-restarted',
  'instance-restored',
  'instance-updated',
  'instance-paused',
  'instance-resumed',
  'instance-ready',
]);

const IGNORE: EventAction = { kind: 'ignore' };

/** `/1.0/instances/c1?project=p` -> { collection: 'instances', name: 'c1', project: 'p' }; nested paths -> undefined. */
export function parseSource(
  source: string,
): { collection: string; name: string; project: string | undefined } | undefined {
  const [path = '', query = ''] = source.split('?', 2);
  const m = /^\/1\.0\/(instances|profiles|containers|virtual-machines)\/([^/]+)$/.exec(path);
  if (!m) return undefined;
  let name: string;
  try {
    name = decodeURIComponent(m[2]!);
  } catch {
    return undefined;
  }
  const project = new URLSearchParams(query).get('project') ?? undefined;
  return { collection: m[1] === 'profiles' ? 'profiles' : 'instances', name, project };
}

/**
 * `watched(project)` says whether instances of that project are served (one project, or all).
 */
export function eventAction(e: LxdEvent, watched: (project: string) => boolean): EventAction {
  if (e.type !== 'lifecycle' || typeof e.metadata !== 'object' || e.metadata === null) return IGNORE;
  const md = e.metadata as { action?: unknown; source?: unknown; context?: unknown };
  if (typeof md.action !== 'string' || typeof md.source !== 'string') return IGNORE;
  const src = parseSource(md.source);
  if (!src) return IGNORE;
  const project =
    (typeof e.project === 'string' && e.project !== '' ? e.project : undefined) ?? src.project ?? 'default';
  if (!watched(project)) return IGNORE;
  if (src.collection === 'profiles')
    return md.action === 'profile-updated' ? { kind: 'profile', project, profile: src.name } : IGNORE;
  if (md.action === 'instance-deleted') return { kind: 'remove', project, name: src.name };
  if (md.action === 'instance-renamed') {
    const ctx = md.context as { old_name?: unknown } | null | undefined;
    const oldName = typeof ctx?.old_name === 'string' ? ctx.old_name : undefined;
    return oldName
      ? { kind: 'rename', project, oldName, name: src.name }
      : { kind: 'reread', project, name: src.name, samePid: false };
  }
  return REREAD.has(md.action)
    ? { kind: 'reread', project, name: src.name, samePid: md.action === 'instance-updated' }
    : IGNORE;
}
