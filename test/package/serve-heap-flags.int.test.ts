// `guestgate serve` runs with its V8 heap flags (bin/guestgate.js SERVE_V8_FLAGS), given on the command
// line because V8 sizes its heap once at start: a gateway started without them re-executes itself in
// place (the pid the supervisor started stays the gateway's), and an operator's own value of a flag wins.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { afterEach, expect, it } from 'vitest';
import { BIN, layout, waitHealthy, type Layout } from '../helpers/service.ts';

let l: Layout | undefined;
let child: ChildProcess | undefined;
afterEach(async () => {
  if (child && child.exitCode === null && child.signalCode === null) {
    const gone = new Promise((r) => child!.once('exit', r));
    child.kill('SIGKILL');
    await gone;
  }
  l?.cleanup();
});

const cmdline = (pid: number): string[] => readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);

async function serve(nodeArgs: string[]): Promise<string[]> {
  l = layout({ demo: 'name: demo\nidentity: {}\n' });
  child = spawn(process.execPath, [...nodeArgs, BIN, 'serve', '--config', l.configFile], { stdio: 'ignore' });
  await waitHealthy(l.adminSock, 60_000);
  // The admin socket answers from the process that was spawned: same pid, new command line.
  return cmdline(child.pid!);
}

it('serve re-executes itself in place with the heap flags', async () => {
  const argv = await serve([]);
  expect(argv).toContain('--max-semi-space-size=8');
  expect(argv).toContain('--heap-growing-percent=50');
  expect(argv.slice(-3)).toEqual(['serve', '--config', l!.configFile]);
});

it("an operator's own value of a heap flag wins; the other flag is still added", async () => {
  const argv = await serve(['--max-semi-space-size=32']);
  expect(argv).toContain('--max-semi-space-size=32');
  expect(argv).not.toContain('--max-semi-space-size=8');
  expect(argv).toContain('--heap-growing-percent=50');
});
