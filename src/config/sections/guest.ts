import { bool, duration, int, obj, oneOf, opt, size, str } from '../validate.ts';
import { path, type PathContext } from '../paths.ts';

export const DIALECTS = ['lxd-5.0', 'lxd', 'incus'] as const;

export const guestSection = (ctx: PathContext) =>
  obj({
    /** The shared guest socket. Its folder is what gets bind-mounted into instances at /dev/lxd. */
    socket: opt(path(ctx)),
    dialect: opt(oneOf(DIALECTS), 'lxd'),
    /**
     * Content type of raw values (config keys, meta-data). Default `utf8` (text/plain; charset=utf-8) is a
     * deliberate deviation: cloud-init 22.4.2 mangles non-ASCII user-data sent as application/octet-stream.
     * `dialect` sends exactly what the dialect's daemon sends (byte-for-byte in lxd-5.0).
     */
    raw_content_type: opt(oneOf(['utf8', 'dialect', 'octet-stream'] as const), 'utf8'),
    /** The `location` reported by GET /1.0 in the lxd and incus dialects (default: this host's name). */
    location: opt(str({ nonEmpty: true })),
    events: obj({
      keepalive: opt(duration(), 10_000),
      /** Events queued for one slow listener before it is dropped. */
      max_queue: opt(int({ min: 1, max: 1_000_000 }), 1024),
      /** Bytes queued for one slow listener before it is dropped (a single larger event still goes out). */
      max_queue_bytes: opt(size(), 8 * 1024 * 1024),
      /**
       * Bytes queued for all listeners together (each event counted once: listeners share its buffer);
       * over it, the listeners furthest behind are dropped.
       */
      max_total_bytes: opt(size(), 64 * 1024 * 1024),
    }),
    /**
     * DEMO ONLY: callers in guestgate's own pid namespace (the host) are treated as this instance, so a
     * newcomer can curl the socket. Logged loudly. Never set in production.
     */
    demo_instance: opt(str({ nonEmpty: true })),
    /** Refuse requests from callers whose credentials cannot be read (always true outside tests). */
    require_peer_credentials: opt(bool(), true),
    /**
     * lxd-5.0 only: record a PATCH /1.0 {"state":"Ready"|"Started"} as readiness (for `wait-ready`) while the
     * guest still gets exactly LXD 5.0.2's answer (the GET /1.0 document; LXD 5.0.2 ignores the method).
     */
    record_ready: opt(bool(), false),
  });
