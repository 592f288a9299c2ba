// The checks every guest request passes, in LXD's order: a known caller in an instance (500 "not in
// container"), the instance's root (401), then the API switch for this endpoint (403).
import type { Socket } from 'node:net';
import { GuestgateError } from '../errors.ts';
import type { Inventory, Resolved } from '../inventory/inventory.ts';
import { callerOf } from './caller.ts';
import { isDisabled, type Dialect, type Endpoint } from './dialects.ts';

export function authorize(socket: Socket, endpoint: Endpoint, inventory: Inventory, dialect: Dialect): Resolved {
  const facts = callerOf(socket);
  if (!facts) throw new GuestgateError('E_NOT_IN_INSTANCE', 'peer credentials unavailable');
  const r = inventory.resolve(facts);
  if (!r)
    throw new GuestgateError('E_NOT_IN_INSTANCE', 'caller is in no known instance', {
      pid: facts.cred.pid,
      pidns: facts.pidns,
    });
  if (r.rootUid === undefined)
    throw new GuestgateError('E_NON_ROOT', 'root uid of the instance cannot be established; set identity.root_uid', {
      instance: r.instance.key,
      missing: 'identity.root_uid',
      uid: facts.cred.uid,
    });
  if (facts.cred.uid !== r.rootUid)
    throw new GuestgateError('E_NON_ROOT', 'caller is not the instance root', {
      instance: r.instance.key,
      uid: facts.cred.uid,
      rootUid: r.rootUid,
    });
  if (dialect.disabledGuards.has(endpoint) && isDisabled(r.instance.config, dialect.keys.enabled))
    throw new GuestgateError('E_FORBIDDEN', `${dialect.keys.enabled} is false`, { instance: r.instance.key });
  return r;
}
