// A guest event listener running inside a container (fixtures/ws-listen.py over /dev/lxd/sock),
// streamed back line by line through `lxc exec`.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { type Cli, LXD_CLI } from './lxd-harness.ts';
import { SERVER_RACE } from './server-race.ts';

const SCRIPT = readFileSync(new URL('./fixtures/ws-listen.py', import.meta.url), 'utf8');

export interface GuestListener {
  /** Resolves once the websocket upgrade was answered inside the container. */
  readonly ready: Promise<void>;
  /** Resolves with the events (parsed JSON) once `count` arrived or the listener ended. */
  readonly done: Promise<unknown[]>;
  stop(): void;
}

export function listen(
  container: string,
  opts: { query?: string; count: number; timeoutS?: number; cli?: Cli },
): GuestListener {
  const cli = opts.cli ?? LXD_CLI;
  const child = spawn(
    cli.bin,
    [
      'exec',
      container,
      '--force-noninteractive',
      '--env',
      `T=${opts.timeoutS ?? 30}`,
      '--env',
      `SOCK=${cli.guestDir}/sock`,
      '--env',
      `RACE=${SERVER_RACE.source}`,
      '--',
      'python3',
      '-c',
      SCRIPT,
      opts.query ?? '',
      String(opts.count),
    ],
    { stdio: ['ignore', 'pipe', 'pipe'], env: cli.env },
  );
  const events: unknown[] = [];
  let stderr = '';
  let pending = '';
  let onReady!: () => void;
  let onFail!: (e: Error) => void;
  const ready = new Promise<void>((res, rej) => {
    onReady = res;
    onFail = rej;
  });
  child.stderr.on('data', (b: Buffer) => (stderr += b.toString('utf8')));
  child.stdout.on('data', (b: Buffer) => {
    pending += b.toString('utf8');
    for (let i = pending.indexOf('\n'); i >= 0; i = pending.indexOf('\n')) {
      const line = pending.slice(0, i);
      pending = pending.slice(i + 1);
      if (line === 'READY') onReady();
      else if (line.trim()) events.push(JSON.parse(line));
    }
  });
  const done = new Promise<unknown[]>((resolve) => {
    child.on('close', (code) => {
      onFail(new Error(`listener in ${container} ended before READY (exit ${String(code)}): ${stderr.trim()}`));
      resolve(events);
    });
  });
  return { ready, done, stop: () => child.kill('SIGTERM') };
}
