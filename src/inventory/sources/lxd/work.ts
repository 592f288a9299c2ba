// Pure: the inventory work one lifecycle event's action asks for, keyed per instance (KeyedWork runs one
// item per key at a time, newer replacing older).
import { instanceKey, type Instance } from '../../model.ts';
import type { EventAction } from './events.ts';

export type Work =
  | { readonly kind: 'resync' }
  /** `samePid`: the event cannot have changed the init pid (a config/device update). */
  | { readonly kind: 'reread'; readonly project: string; readonly name: string; readonly samePid?: boolean }
  | { readonly kind: 'remove'; readonly project: string; readonly name: string };

/** `known`: the instances known now, with the profiles they use (a profile update re-reads its users). */
export function workFor(
  a: EventAction,
  known: Iterable<{ readonly instance: Instance; readonly profiles: readonly string[] }>,
): [string, Work][] {
  switch (a.kind) {
    case 'ignore':
      return [];
    case 'reread':
      return [
        [instanceKey(a.project, a.name), { kind: 'reread', project: a.project, name: a.name, samePid: a.samePid }],
      ];
    case 'remove':
      return [[instanceKey(a.project, a.name), { kind: 'remove', project: a.project, name: a.name }]];
    case 'rename':
      return [
        [instanceKey(a.project, a.oldName), { kind: 'remove', project: a.project, name: a.oldName }],
        [instanceKey(a.project, a.name), { kind: 'reread', project: a.project, name: a.name }],
      ];
    case 'profile': {
      const out: [string, Work][] = [];
      for (const k of known)
        if (k.instance.project === a.project && k.profiles.includes(a.profile))
          out.push([k.instance.key, { kind: 'reread', project: a.project, name: k.instance.name, samePid: true }]);
      return out;
    }
  }
}
