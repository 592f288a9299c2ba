// Listen on a unix socket path, replacing a stale socket file only after a connect probe shows
// that no live server is behind it (never clobber a running instance of ourselves).
// The socket is bound under a temporary name and renamed into place: libuv unlinks the path it bound
// when the listener closes, and during a restart (net/handover.ts) the old process closes its
// listener while the new one still serves the same socket, whose file must stay. On a final stop,
// `removeIfOurs` removes the file unless another socket has replaced it meanwhile.
import { randomBytes } from 'node:crypto';
import { connect, type Server } from 'node:net';
import { chmod, lstat, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/**
 * Connections the kernel queues before we accept them (clamped to net.core.somaxconn). Node's default,
 * 511, made a burst of guests connecting at once (1,000 event listeners) fail with EAGAIN.
 */
export const LISTEN_BACKLOG = 4096;

export interface UnixListening {
  /** Remove the socket file if it is still the one we bound (a final stop, not a handover). */
  removeIfOurs(): Promise<void>;
}

/** `mode` is set before the socket appears at `path`, so no caller ever meets it with another mode. */
export async function listenUnix(server: Server, path: string, mode?: number): Promise<UnixListening> {
  const st = await lstat(path).catch(() => undefined);
  if (st) {
    if (!st.isSocket()) throw new Error(`${path} exists and is not a socket; refusing to replace it`);
    if (await isLive(path)) throw new Error(`${path} is in use by a running server`);
  }
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}`);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ path: tmp, backlog: LISTEN_BACKLOG }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  try {
    if (mode !== undefined) await chmod(tmp, mode);
    await rename(tmp, path);
  } catch (e) {
    await new Promise((r) => server.close(r));
    throw e;
  }
  const ino = (await lstat(path)).ino;
  return {
    removeIfOurs: async () => {
      const now = await lstat(path).catch(() => undefined);
      if (now?.ino === ino) await unlink(path).catch(() => {});
    },
  };
}

/** Serve on an inherited listening fd (socket activation or a restart's handover). */
export function listenFd(server: Server, fd: number): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ fd }, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/**
 * Why guests cannot connect to an inherited socket at `path`, or undefined. Connecting to a unix
 * socket needs write permission on it, and guests run as other uids (every unprivileged container):
 * systemd's default SocketMode=0666 allows it, systemd-socket-activate's umask-derived 0644 does not.
 */
export async function sharedSocketProblem(path: string): Promise<string | undefined> {
  const st = await lstat(path).catch(() => undefined);
  if (!st?.isSocket()) return undefined; // not ours to judge (an abstract or differently placed socket)
  if (st.mode & 0o002) return undefined;
  return `mode ${(st.mode & 0o777).toString(8).padStart(4, '0')} lets only its owner${st.mode & 0o020 ? ' and group' : ''} connect; guests of other uids are refused by the kernel: give it SocketMode=0666 (or chmod 0666)`;
}

export function isLive(path: string, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(path);
    const done = (live: boolean): void => {
      s.destroy();
      resolve(live);
    };
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
    s.setTimeout(timeoutMs, () => done(false));
  });
}
