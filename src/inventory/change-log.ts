// One info line per instance added, updated or removed (whatever the source: files, LXD/Incus, admin API),
// so an operator's journal says when guestgate started or stopped answering for an instance.
import type { Logger } from 'pino';
import type { Instance } from './model.ts';

export type LoggedChange =
  | { readonly kind: 'upsert'; readonly before?: Instance | undefined; readonly after: Instance }
  | { readonly kind: 'remove'; readonly before: Instance };

export function logInstanceChange(log: Logger, c: LoggedChange): void {
  if (c.kind === 'remove') log.info({ instance: c.before.key }, 'instance removed');
  else if (c.before) log.info({ instance: c.after.key }, 'instance updated');
  else log.info({ instance: c.after.key, type: c.after.type }, 'instance added');
}
