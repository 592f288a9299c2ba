// strace as a witness: attach to a running process (all threads, and threads it starts later) and
// read back the system calls it made, in order. Lines of `strace -f -y -o FILE` look like
//   1234  fsync(21</tmp/x/.a.yaml.1f2e.tmp>) = 0
//   1234  rename("/tmp/x/.a.yaml.1f2e.tmp", "/tmp/x/a.yaml" <unfinished ...>
//   1234  <... rename resumed>) = 0
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { ensureAptPackage } from './service.ts';
import { waitFor } from './wait.ts';

export interface Syscall {
  readonly pid: number;
  readonly name: string;
  /** The argument text as strace printed it (fd paths included, thanks to -y). */
  readonly args: string;
  readonly result: string;
  /** Index of the line where the call started / returned: the order of events across threads. */
  readonly started: number;
  readonly returned: number;
}

export function parseStrace(text: string): Syscall[] {
  const out: Syscall[] = [];
  const open = new Map<string, { pid: number; name: string; args: string; started: number }>();
  text.split('\n').forEach((line, i) => {
    const m = /^(\d+)\s+(.*)$/.exec(line);
    if (!m) return;
    const pid = Number(m[1]);
    const rest = m[2]!;
    const resumed = /^<\.\.\. (\w+) resumed>(.*)\)\s+= (.*)$/.exec(rest);
    if (resumed) {
      const o = open.get(`${pid} ${resumed[1]}`);
      if (!o) return;
      open.delete(`${pid} ${resumed[1]}`);
      out.push({ ...o, args: o.args + resumed[2], result: resumed[3]!.trim(), returned: i });
      return;
    }
    const unfinished = /^(\w+)\((.*) <unfinished \.\.\.>$/.exec(rest);
    if (unfinished) {
      open.set(`${pid} ${unfinished[1]}`, { pid, name: unfinished[1]!, args: unfinished[2]!, started: i });
      return;
    }
    const whole = /^(\w+)\((.*)\)\s+= (.*)$/.exec(rest);
    if (whole) out.push({ pid, name: whole[1]!, args: whole[2]!, result: whole[3]!.trim(), started: i, returned: i });
  });
  return out.sort((a, b) => a.returned - b.returned);
}

export interface Tracer {
  /** Detach and return what was seen. */
  stop(): Promise<Syscall[]>;
}

/** strace is needed: installed with apt-get when missing and we are root, else a clear failure. */
export function requireStrace(): void {
  const missing = ensureAptPackage('strace', '/usr/bin/strace');
  if (missing) throw new Error(`the fsync test needs ${missing}`);
}

/** Attach strace to `pid` (all its threads) for `calls`; resolves once attached. `strSize`: bytes of data shown per string. */
export async function attachStrace(pid: number, calls: string[], logFile: string, strSize = 48): Promise<Tracer> {
  requireStrace();
  const st: ChildProcess = spawn(
    '/usr/bin/strace',
    ['-f', '-y', '-s', String(strSize), '-e', `trace=${calls.join(',')}`, '-o', logFile, '-p', String(pid)],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let err = '';
  st.stderr!.on('data', (c: Buffer) => (err += c));
  const exited = new Promise<number | null>((r) => st.once('exit', (code) => r(code)));
  await waitFor(`strace to attach to pid ${pid} (${err})`, () => {
    if (st.exitCode !== null) throw new Error(`strace exited (${st.exitCode}): ${err}`);
    return new RegExp(`Process ${pid} attached`).test(err);
  });
  return {
    stop: async () => {
      st.kill('SIGINT');
      await exited;
      return parseStrace(readFileSync(logFile, 'utf8'));
    },
  };
}
