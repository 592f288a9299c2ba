// Waiting on a condition, never a fixed sleep: the machine may be busy (2 cores shared with CPU
// burners and other suites), so the deadline is generous and the error names what never happened.
import { setTimeout as sleep } from 'node:timers/promises';

export async function waitFor(
  what: string,
  cond: () => boolean | Promise<boolean>,
  opts: { ms?: number; every?: number } = {},
): Promise<void> {
  const ms = opts.ms ?? 30_000;
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(opts.every ?? 10);
  }
}
