// Listen on a unix socket path, replacing a stale socket file only after a connect probe shows
// that no live server is behind it (never clobber a running instance of ourselves).
import { connect, type Server } from 'node:net';
import { lstat, unlink } from 'node:fs/promises';

export async function listenUnix(server: Server, path: string): Promise<void> {
  const st = await lstat(path).catch(() => undefined);
  if (st) {
    if (!st.isSocket()) throw new Error(`${path} exists and is not a socket; refusing to replace it`);
    if (await isLive(path)) throw new Error(`${path} is in use by a running server`);
    await unlink(path);
  }
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => {
      server.off('error', reject);
      resolve();
    });
  });
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
