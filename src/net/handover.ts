// Restart without dropping a connection: the running process starts its successor with its
// listening sockets inherited (fds 3.., named in LISTEN_FDNAMES, GUESTGATE_HANDOVER = our pid, see
// inherited.ts) and one more fd, a pipe, on which the successor writes "ready\n" once it serves on
// every socket. Both accept on the same kernel sockets meanwhile, so a connection is never refused;
// only then does the caller stop accepting and drain. A successor that fails or is not ready within
// the timeout is killed, and the running process simply keeps serving.
import { spawn } from 'node:child_process';
import { closeSync, writeSync } from 'node:fs';
import type { Server } from 'node:net';
import type { Readable } from 'node:stream';
import { GuestgateError } from '../errors.ts';
import { HANDOVER_ENV, HANDOVER_NOTIFY_ENV, type ListenerName, SD_LISTEN_FDS_START } from './inherited.ts';

export interface Successor {
  readonly pid: number;
}

export interface SpawnOptions {
  /** argv of the new process, without the executable (default: this process's own). */
  readonly args?: readonly string[];
  readonly timeoutMs: number;
}

/** The listening handle of a net.Server (libuv's Pipe or TCP wrap), as child_process stdio accepts it. */
function handleOf(name: ListenerName, server: Server): object {
  const h = (server as unknown as { _handle?: object | null })._handle;
  if (!h || !server.listening) throw new GuestgateError('E_UNAVAILABLE', `the ${name} listener is not listening`, {});
  return h;
}

export function spawnSuccessor(
  listeners: ReadonlyArray<readonly [ListenerName, Server]>,
  opts: SpawnOptions,
): Promise<Successor> {
  const names = listeners.map(([n]) => n);
  const handles = listeners.map(([n, s]) => handleOf(n, s));
  const notifyFd = SD_LISTEN_FDS_START + handles.length;
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    LISTEN_FDS: String(handles.length),
    LISTEN_FDNAMES: names.join(':'),
    [HANDOVER_ENV]: String(process.pid),
    [HANDOVER_NOTIFY_ENV]: String(notifyFd),
  };
  delete env.LISTEN_PID;
  const child = spawn(process.execPath, [...process.execArgv, ...(opts.args ?? process.argv.slice(1))], {
    env,
    stdio: ['ignore', 'inherit', 'inherit', ...handles, 'pipe'] as never,
  });
  const pipe = child.stdio[notifyFd] as Readable;
  return new Promise<Successor>((resolve, reject) => {
    let said = '';
    const timer = setTimeout(() => fail(`not ready after ${opts.timeoutMs} ms`), opts.timeoutMs);
    const finish = (): void => {
      clearTimeout(timer);
      child.off('exit', onExit);
      pipe.destroy();
      child.unref();
    };
    const fail = (why: string): void => {
      finish();
      child.kill('SIGKILL');
      reject(new GuestgateError('E_UNAVAILABLE', `restart: the new process (pid ${child.pid}) ${why}`, {}));
    };
    const onExit = (code: number | null, sig: string | null): void =>
      fail(`exited (${sig ?? `code ${code}`}) before it was ready; the running process keeps serving`);
    child.once('exit', onExit);
    child.once('error', (e) => fail(`could not start: ${e.message}`));
    pipe.on('data', (c: Buffer) => {
      said += c.toString();
      if (said.includes('ready\n')) {
        finish();
        resolve({ pid: child.pid! });
      }
    });
  });
}

/** In the successor: tell the process that handed the sockets over that every listener serves. */
export function notifyPredecessor(fd: number): void {
  try {
    writeSync(fd, 'ready\n');
  } finally {
    closeSync(fd);
  }
}
