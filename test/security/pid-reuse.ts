// Force a host pid to be handed out again (ns_last_pid), to a process of a chosen namespace: the
// real pid-reuse attack, not a stand-in. Other processes on the machine may take the pid first;
// callers check whether the reuse happened (`reusedBy`) and count.
import type { ChildProcess } from 'node:child_process';
import { readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { createInterface, type Interface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { TestNamespace } from '../helpers/namespaces.ts';

/** Scripts are passed with -c: a uid-mapped guest root may not read the checkout. */
export const script = (name: string): string =>
  readFileSync(fileURLToPath(new URL(`./${name}`, import.meta.url)), 'utf8');
export const PYTHON = '/usr/bin/python3';

/** A line-protocol forker (forker.py) running inside a namespace, or on the host. */
export class Forker {
  readonly #proc: ChildProcess;
  readonly #lines: Interface;
  readonly #waiting: ((line: string) => void)[] = [];
  /** On the host, pids it prints are host pids; in a namespace, they are that namespace's. */
  readonly onHost: boolean;

  constructor(proc: ChildProcess, onHost = true) {
    this.#proc = proc;
    this.onHost = onHost;
    this.#lines = createInterface({ input: proc.stdout! });
    this.#lines.on('line', (l) => this.#waiting.shift()?.(l));
  }

  static inNamespace(ns: TestNamespace): Forker {
    return new Forker(ns.spawn([PYTHON, '-c', script('forker.py')]), false);
  }

  ask(cmd: string): Promise<string> {
    return new Promise((resolve) => {
      this.#waiting.push(resolve);
      this.#proc.stdin!.write(`${cmd}\n`);
    });
  }

  close(): void {
    this.#proc.kill('SIGKILL');
    this.#lines.close();
  }
}

/** Make the next host pid handed out be `pid` (host pid namespace; root). */
export function nextPidWillBe(pid: number): void {
  writeFileSync('/proc/sys/kernel/ns_last_pid', String(pid - 1));
}

/** Inode of the pid namespace `pid` is in now, or undefined. */
export function pidnsOfPid(pid: number): number | undefined {
  try {
    return Number(/\[(\d+)\]/.exec(readlinkSync(`/proc/${pid}/ns/pid`))![1]);
  } catch {
    return undefined;
  }
}

/**
 * Give `pid` to a new child held by `forker` (in its namespace): true when that child got it. On the
 * host, any short-lived process of a parallel test may take the pid instead and be gone a moment
 * later, so the held child's own pid is compared; in a test's namespace only the forker makes processes.
 */
export async function reuseBy(pid: number, forker: Forker, pidns: number): Promise<boolean> {
  nextPidWillBe(pid);
  const held = Number(await forker.ask('hold'));
  if (forker.onHost && held !== pid) return false;
  return pidnsOfPid(pid) === pidns;
}
