import { bool, duration, obj, oneOf, opt, size, str, ValidationError, type Validator } from '../validate.ts';
import { path, type PathContext } from '../paths.ts';
import { checkUrlCredentials, lxdEndpointFields } from './lxd-endpoint.ts';

const dirSource = (ctx: PathContext) =>
  obj({
    source: oneOf(['dir'] as const),
    /** One YAML file per instance (the shape of `lxc config show --expanded`, plus `identity:`). */
    dir: path(ctx, 'dir'),
    /** Debounce for file-change bursts (editors write in several steps). */
    debounce: opt(duration(), 50),
    /**
     * A changed file is applied only once its size and mtime have not changed for this long and a
     * re-read is identical, so an in-place write that pauses (for less than this) is never applied
     * half-written. Writers should write a temp file and rename it over the instance file.
     */
    settle: opt(duration(), 1000),
    /** Instance files larger than this are refused (the error names the file). */
    max_file_size: opt(size(), 1024 * 1024),
  });

const lxdSource = (ctx: PathContext) =>
  obj({
    source: oneOf(['lxd', 'incus'] as const),
    ...lxdEndpointFields(ctx),
    /** Also serve the instances of every project (default: only `project`). */
    all_projects: opt(bool(), false),
    /**
     * This gateway's cluster member: only instances whose `location` is this member are tied to local
     * processes. Default: the server's own `server_name` when it is clustered (a gateway on each member,
     * talking to its own daemon, needs nothing); set it when reaching the cluster through another member.
     */
    member: opt(str({ nonEmpty: true })),
  });

export type DirSourceConfig = ReturnType<ReturnType<typeof dirSource>>;
export type LxdSourceConfig = ReturnType<ReturnType<typeof lxdSource>>;
export type InventoryConfig = DirSourceConfig | LxdSourceConfig;

export const inventorySection =
  (ctx: PathContext): Validator<InventoryConfig> =>
  (v, key) => {
    const src = typeof v === 'object' && v !== null ? (v as Record<string, unknown>).source : undefined;
    if (src === 'dir') return dirSource(ctx)(v, key);
    if (src === 'lxd' || src === 'incus') {
      const c = lxdSource(ctx)(v, key);
      if (!c.socket && !c.url) throw new ValidationError(key, 'expected `socket` or `url` for an lxd/incus source');
      checkUrlCredentials(c, key);
      return c;
    }
    throw new ValidationError(`${key}.source`, `expected one of "dir", "lxd", "incus", got ${JSON.stringify(src)}`);
  };
