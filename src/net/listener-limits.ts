// Builds the connection limits every listener shares from config: one process-wide counter kept
// below the fd soft limit (raised to the hard limit at start, src/identity/limits.ts), metrics and logs.
import type { Logger } from 'pino';
import type { LimitsConfig } from '../config/sections/limits.ts';
import type { Observability } from '../metrics/observability.ts';
import type { ListenerLimits } from './conn-guard.ts';
import { ConnCounter, globalCap } from './conn-limits.ts';

export function listenerLimits(
  cfg: LimitsConfig,
  fd: { soft: number; hard: number } | undefined,
  obs: Observability,
  log: Logger,
): ListenerLimits {
  const global = globalCap(cfg.max_connections, fd?.soft, cfg.fd_headroom);
  const counter = new ConnCounter({ global, reserve: cfg.reserve });
  log.info({ fd_soft: fd?.soft, fd_hard: fd?.hard, max_connections: global }, 'connection limits');
  return {
    counter,
    headerTimeoutMs: cfg.header_timeout,
    idleTimeoutMs: cfg.idle_timeout,
    perInstance: cfg.connections_per_instance,
    perUnknown: cfg.connections_per_unknown,
    onRefused: (listener, reason) => obs.connectionsRefused.inc({ listener, reason }),
    onTimeout: (listener, phase) => obs.connectionsTimedOut.inc({ listener, phase }),
    onRefusedLog: (listener, key, reason, held) =>
      log.warn(
        { listener, caller: key, reason, held },
        'connection over the cap closed (logged once a minute per caller)',
      ),
  };
}
