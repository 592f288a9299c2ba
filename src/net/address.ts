// host:port parsing (pure, table-tested) and a TCP listen that reports the bound address.
import type { Server } from 'node:net';

export interface HostPort {
  readonly host: string;
  readonly port: number;
}

/** "10.0.0.1:8080", "[fd00::1]:8080", ":8080" (all addresses), "localhost:0" (any free port). */
export function parseHostPort(s: string): HostPort {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]\s]*)):(\d{1,5})$/.exec(s);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) throw new Error(`invalid listen address ${JSON.stringify(s)}: expected host:port`);
  return { host: m[1] ?? (m[2] || '::'), port };
}

export const formatHostPort = (host: string, port: number): string =>
  host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;

export function listenTcp(server: Server, at: HostPort): Promise<string> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: at.host, port: at.port }, () => {
      server.off('error', reject);
      resolve(tcpAddress(server, `${at.host}:${at.port}`));
    });
  });
}

/** host:port a listening TCP server is bound to (`fallback` when it has none). */
export function tcpAddress(server: Server, fallback: string): string {
  const a = server.address();
  return a && typeof a === 'object' ? formatHostPort(a.address, a.port) : fallback;
}
