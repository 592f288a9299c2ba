// Pure: on an LXD/Incus cluster, which instances this gateway may tie to local processes. Each member's
// daemon serves its own containers; the cluster API lists every member's instances, and `/state` of an
// instance on another member gives a pid on ANOTHER host. So in member mode only instances whose
// `location` is this member are indexed by kernel facts; the others are known (admin view) with no
// identity at all, never matched to a caller. Standalone servers (`location: none`) keep every instance.
import type { LxdInstance } from '../../../lxd/api.ts';
import type { Instance } from '../../model.ts';

/**
 * - `local`: runs here (or standalone): indexed by its init pid and cgroup.
 * - `remote`: on another member: known, never indexed, its `/state` never read.
 * - `lost`: said to be here, but the cluster reports it in `Error` (this member's daemon is unreachable
 *   from the API that answered): keep the last known record, whose init is still held by a pidfd.
 */
export type Placement = 'local' | 'remote' | 'lost';

/** `member`: this gateway's member name; undefined on a standalone server. */
export function placementOf(m: LxdInstance, member: string | undefined): Placement {
  if (member === undefined) return 'local';
  const location = typeof m.location === 'string' ? m.location : '';
  // A clustered server always names the member; an item without one is never trusted with a pid.
  if (location !== member) return 'remote';
  return m.status === 'Error' ? 'lost' : 'local';
}

/** An instance on another member: its config as reported, no kernel facts (no pid, no cgroup). */
export function remoteView(i: Instance): Instance {
  return Object.freeze({ ...i, identity: Object.freeze({}) });
}

/** What the server says about itself, as far as membership goes (`GET /1.0` environment). */
export interface MemberInfo {
  readonly clustered: boolean;
  readonly serverName: string | undefined;
}

/**
 * This gateway's member name: the configured one (`inventory.member`, for a gateway that reaches the
 * cluster through another member's API), else the server's own name when it is clustered, else
 * undefined (standalone). Throws a message naming the key when the config cannot be right.
 */
export function resolveMember(configured: string | undefined, info: MemberInfo): string | undefined {
  if (configured !== undefined) {
    if (!info.clustered)
      throw new Error(`inventory.member is "${configured}" but the server is not clustered (remove the key)`);
    return configured;
  }
  if (!info.clustered) return undefined;
  if (!info.serverName) throw new Error('the server is clustered but reports no server_name: set inventory.member');
  return info.serverName;
}

/** The /healthz reason while some of this member's instances are served from last known state. */
export const lostReason = (member: string | undefined, keys: ReadonlySet<string>): string =>
  `cluster reports member ${member ?? '(standalone)'} in error; ${keys.size} instance(s) served from last known state: ${[...keys].sort().join(', ')}`;
