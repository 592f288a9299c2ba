// The image export cache (src/images): where blobs live, how big the cache may grow, which images
// are never evicted, and where missing images come from (tried in order).
import {
  bool,
  duration,
  fileMode,
  list,
  obj,
  oneOf,
  opt,
  size,
  str,
  type Validator,
  ValidationError,
} from '../validate.ts';
import { path, type PathContext } from '../paths.ts';
import { checkUrlCredentials, lxdEndpointFields } from './lxd-endpoint.ts';

const FINGERPRINT = { pattern: /^[0-9a-f]{64}$/, hint: 'a full sha256 fingerprint (64 lower-case hex digits)' };

const dirUpstream = (ctx: PathContext) =>
  obj({
    type: oneOf(['dir'] as const),
    /** LXD-format image files: `<fp>` and optional `<fp>.rootfs` (e.g. /var/lib/lxd/images). */
    path: path(ctx),
    /** LXD keeps visibility in its database, not in the folder: say here whether guests may see these. */
    public: opt(bool(), true),
  });

const lxdUpstream = (ctx: PathContext) =>
  obj({
    type: oneOf(['lxd', 'incus'] as const),
    ...lxdEndpointFields(ctx),
  });

const simplestreamsUpstream = (ctx: PathContext) =>
  obj({
    type: oneOf(['simplestreams'] as const),
    url: str({ pattern: /^https?:\/\//, hint: 'an http:// or https:// URL' }),
    server_cert: opt(path(ctx, 'file')),
    /** How long the fetched catalog (index.json, images.json) is reused. */
    catalog_ttl: opt(duration(), 60_000),
  });

export type DirUpstreamConfig = ReturnType<ReturnType<typeof dirUpstream>>;
export type LxdUpstreamConfig = ReturnType<ReturnType<typeof lxdUpstream>>;
export type SimplestreamsUpstreamConfig = ReturnType<ReturnType<typeof simplestreamsUpstream>>;
export type UpstreamConfig = DirUpstreamConfig | LxdUpstreamConfig | SimplestreamsUpstreamConfig;

/** Defaults of images.upstream_timeouts (ms). */
export const UPSTREAM_TIMEOUTS = Object.freeze({ connect: 10_000, first_byte: 30_000, idle: 30_000 });

const upstream =
  (ctx: PathContext): Validator<UpstreamConfig> =>
  (v, key) => {
    const t = typeof v === 'object' && v !== null ? (v as Record<string, unknown>).type : undefined;
    if (t === 'dir') return dirUpstream(ctx)(v, key);
    if (t === 'simplestreams') return simplestreamsUpstream(ctx)(v, key);
    if (t === 'lxd' || t === 'incus') {
      const c = lxdUpstream(ctx)(v, key);
      if (!c.socket === !c.url)
        throw new ValidationError(key, 'expected exactly one of `socket` or `url` for an lxd/incus upstream');
      checkUrlCredentials(c, key);
      return c;
    }
    throw new ValidationError(
      `${key}.type`,
      `expected one of "dir", "lxd", "incus", "simplestreams", got ${JSON.stringify(t)}`,
    );
  };

export const imagesSection = (ctx: PathContext) =>
  obj({
    /** Default: <state_dir>/images. */
    cache_dir: opt(path(ctx)),
    /** Upper bound for cached bytes (pinned images count toward it but are never evicted). */
    max_size: opt(size(), 20 * 1024 ** 3),
    pinned: opt(list(str(FINGERPRINT)), () => []),
    /** Mode of cached blobs and manifests; folders get the same plus x where r is set. Private by default. */
    file_mode: opt(fileMode(), 0o600),
    upstreams: opt(list(upstream(ctx)), () => []),
    /** Upstreams without change events (dir, simplestreams): how long an answer (existence, flags) is reused. */
    lookup_ttl: opt(duration(), 5_000),
    /** On SIGTERM: how long exports in flight may run on before the process exits anyway. */
    drain_timeout: opt(duration(), 5 * 60_000),
    /** Deadlines for lxd/incus/simplestreams upstreams (absent: UPSTREAM_TIMEOUTS): a stalled fill fails. */
    upstream_timeouts: opt(
      obj({
        connect: opt(duration(), UPSTREAM_TIMEOUTS.connect),
        first_byte: opt(duration(), UPSTREAM_TIMEOUTS.first_byte),
        idle: opt(duration(), UPSTREAM_TIMEOUTS.idle),
      }),
    ),
  });

export type ImagesConfig = ReturnType<ReturnType<typeof imagesSection>>;
