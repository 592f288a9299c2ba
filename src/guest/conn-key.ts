// The connection-limit key of a guest socket caller, read at accept time from the caller's facts
// (callerOf) and the inventory: its instance, else its pid namespace (an unknown caller).
import type { Socket } from 'node:net';
import type { Inventory } from '../inventory/inventory.ts';
import type { CallerKey, ListenerLimits } from '../net/conn-guard.ts';
import { callerOf } from './caller.ts';

export function guestConnKey(socket: Socket, inventory: Inventory, limits: ListenerLimits): CallerKey {
  const facts = callerOf(socket);
  const key = facts ? inventory.resolve(facts)?.instance.key : undefined;
  if (key !== undefined) return { key: `instance:${key}`, cap: limits.perInstance };
  const who = !facts ? 'no-credentials' : facts.pidns !== undefined ? `pidns:${facts.pidns}` : `uid:${facts.cred.uid}`;
  return { key: `unknown:${who}`, cap: limits.perUnknown };
}
