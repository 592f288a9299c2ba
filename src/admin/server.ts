// Admin listeners: the unix socket (mode from config, 0600 by default: root only), and optionally
// HTTPS where the TLS layer itself refuses clients without a certificate signed by client_ca.
import { createServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import type Koa from 'koa';
import type { AdminConfig } from '../config/sections/admin.ts';
import { listenFd, listenUnix, type UnixListening } from '../net/unix-listen.ts';
import { listenTcp, parseHostPort, tcpAddress } from '../net/address.ts';
import { loadTlsFiles } from '../net/tls.ts';
import { guardConnections, serverTimeouts, type ListenerLimits } from '../net/conn-guard.ts';

export interface AdminServer {
  readonly path: string;
  readonly server: Server;
  readonly https: Server | undefined;
  /** host:port the HTTPS listener is bound to (with the real port when 0 was asked). */
  readonly httpsAddress: string | undefined;
  /** Close; `keepSocket` for a restart's handover (the new process serves the same socket file). */
  close(opts?: { keepSocket?: boolean }): Promise<void>;
}

/** Inherited listening fds (socket activation, restart): served as they are. */
export interface AdminFds {
  readonly unix?: number | undefined;
  readonly https?: number | undefined;
}

export async function startAdminServer(
  app: Koa,
  cfg: AdminConfig,
  socketPath: string,
  limits?: ListenerLimits,
  fds: AdminFds = {},
): Promise<AdminServer> {
  const handler = app.callback();
  const server = createServer(serverTimeouts(limits, 0), handler);
  // Operators are trusted (root or client certificates): timeouts and the process-wide cap only.
  const admin = { key: 'admin', cap: Number.MAX_SAFE_INTEGER };
  if (limits) guardConnections(server, { ...limits, listener: 'admin', keyOf: () => admin });
  let bound: UnixListening | undefined;
  if (fds.unix !== undefined) await listenFd(server, fds.unix);
  else {
    await mkdir(dirname(socketPath), { recursive: true, mode: 0o755 });
    bound = await listenUnix(server, socketPath, cfg.socket_mode);
  }
  let https: Server | undefined;
  let httpsAddress: string | undefined;
  if (cfg.https) {
    https = createHttpsServer(
      {
        ...loadTlsFiles({ cert: cfg.https.cert, key: cfg.https.key, ca: cfg.https.client_ca }),
        requestCert: true,
        rejectUnauthorized: true,
        minVersion: 'TLSv1.2',
        ...serverTimeouts(limits, 0),
        ...(limits ? { handshakeTimeout: limits.headerTimeoutMs } : {}),
      },
      handler,
    );
    if (limits) guardConnections(https, { ...limits, listener: 'admin-https', keyOf: () => admin });
    const listening =
      fds.https !== undefined
        ? listenFd(https, fds.https).then(() => tcpAddress(https!, cfg.https!.listen))
        : listenTcp(https, parseHostPort(cfg.https.listen));
    httpsAddress = await listening.catch(async (e) => {
      await new Promise((resolve) => server.close(resolve)); // all or nothing: the unix socket goes too
      await bound?.removeIfOurs();
      throw e;
    });
  }
  const closeOne = (s: Server): Promise<void> =>
    new Promise((resolve) => {
      s.close(() => resolve());
      s.closeAllConnections();
    });
  return {
    path: socketPath,
    server,
    https,
    httpsAddress,
    close: async (opts) => {
      await Promise.all([closeOne(server), ...(https ? [closeOne(https)] : [])]);
      if (!opts?.keepSocket) await bound?.removeIfOurs();
    },
  };
}
