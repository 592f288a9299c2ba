// Limits that keep one guest from starving the others: per-connection timeouts, connection caps
// (per instance, per unknown caller, process-wide) and an optional per-instance request rate.
import { duration, int, obj, opt } from '../validate.ts';

export const limitsSection = () =>
  obj({
    /** A connection must complete its request headers this long after it opens (or partial headers start). */
    header_timeout: opt(duration(), 10_000),
    /** An idle keep-alive connection (no request in progress) is closed after this long. */
    idle_timeout: opt(duration(), 30_000),
    /** Open connections one instance may hold on one listener (guest socket; NoCloud counts per source address). */
    connections_per_instance: opt(int({ min: 1, max: 1_000_000 }), 64),
    /** Open connections one caller that is in no known instance may hold (keyed by its pid namespace). */
    connections_per_unknown: opt(int({ min: 1, max: 1_000_000 }), 8),
    /** Process-wide cap on open connections; 0: the fd soft limit minus `fd_headroom`. */
    max_connections: opt(int({ min: 0, max: 10_000_000 }), 0),
    /** Descriptors kept free below the fd limit (cache files, upstreams, inventory, logs). */
    fd_headroom: opt(int({ min: 16, max: 1_000_000 }), 1024),
    /** The last this-many connection slots go only to callers holding fewer than 4 connections. */
    reserve: opt(int({ min: 0, max: 1_000_000 }), 256),
    /** Per-instance guest requests per second (token bucket); 0 (default): off. */
    rate: opt(int({ min: 0, max: 1_000_000 }), 0),
    /** Bucket size: requests one instance may make at once before `rate` applies. */
    burst: opt(int({ min: 1, max: 1_000_000 }), 100),
  });

export type LimitsConfig = ReturnType<ReturnType<typeof limitsSection>>;
