// An Instance as the admin API shows it: the inventory file shape (what `instances edit` edits),
// plus the key and readiness. Pure.
import type { Instance } from '../inventory/model.ts';
import type { ReadyRecord } from '../state/ready.ts';

export function instanceDocument(i: Instance): Record<string, unknown> {
  const id = i.identity;
  const identity: Record<string, unknown> = {};
  if (id.initPid !== undefined) identity.init_pid = id.initPid;
  if (id.initStartTime !== undefined) identity.init_start_time = id.initStartTime;
  if (id.pidnsFile !== undefined) identity.pidns_file = id.pidnsFile;
  if (id.cgroup !== undefined) identity.cgroup = id.cgroup;
  if (id.rootUid !== undefined) identity.root_uid = id.rootUid;
  if (id.addresses !== undefined) identity.addresses = [...id.addresses];
  if (id.nocloudToken !== undefined) identity.nocloud_token = id.nocloudToken;
  return {
    name: i.name,
    project: i.project,
    type: i.type,
    location: i.location,
    config: { ...i.config },
    devices: { ...i.devices },
    identity,
  };
}

export interface InstanceView extends Record<string, unknown> {
  key: string;
  state: string;
}

export function instanceView(i: Instance, ready: ReadyRecord | undefined): InstanceView {
  return {
    key: i.key,
    ...instanceDocument(i),
    state: ready?.state ?? 'Unknown',
    state_since: ready?.since ?? null,
    ...(i.status !== undefined ? { status: i.status } : {}),
  };
}
