// The whole service config: one validator built from one section per subsystem.
import { join } from 'node:path';
import { obj, opt, type Infer } from './validate.ts';
import { path, type PathContext } from './paths.ts';
import { guestSection } from './sections/guest.ts';
import { inventorySection } from './sections/inventory.ts';
import { imagesSection } from './sections/images.ts';
import { adminSection } from './sections/admin.ts';
import { nocloudSection } from './sections/nocloud.ts';
import { logSection } from './sections/log.ts';
import { limitsSection } from './sections/limits.ts';

export const DEFAULT_RUNTIME_DIR = '/run/guestgate';
export const DEFAULT_STATE_DIR = '/var/lib/guestgate';

export const configSchema = (ctx: PathContext) =>
  obj({
    /** Sockets live here: guest/sock (the folder to bind-mount at /dev/lxd) and admin.sock. */
    runtime_dir: opt(path(ctx), DEFAULT_RUNTIME_DIR),
    /** Durable state: readiness, admin-made instances, the image cache. */
    state_dir: opt(path(ctx), DEFAULT_STATE_DIR),
    guest: guestSection(ctx),
    inventory: inventorySection(ctx),
    images: imagesSection(ctx),
    admin: adminSection(ctx),
    nocloud: nocloudSection(ctx),
    log: logSection(),
    limits: limitsSection(),
  });

type Raw = Infer<ReturnType<typeof configSchema>>;

/** The validated config with derived defaults filled in. Frozen; passed into constructors. */
export type Config = Raw & {
  readonly file: string;
  readonly guest: Raw['guest'] & { readonly socket: string };
};

export function withDerivedDefaults(raw: Raw, file: string): Config {
  const guestDir = raw.guest.dialect === 'incus' ? 'guestapi' : 'devlxd';
  return Object.freeze({
    ...raw,
    file,
    guest: Object.freeze({ ...raw.guest, socket: raw.guest.socket ?? join(raw.runtime_dir, guestDir, 'sock') }),
  });
}
