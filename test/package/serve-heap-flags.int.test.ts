// `guestgate serve` caps V8's young generation (bin/guestgate.js SEMI_SPACE), a flag that only works on the
// command line: a gateway started without it re-executes itself in place (the pid the supervisor started
// stays the gateway's); given by the operator (argv or NODE_OPTIONS, as the systemd unit does), theirs wins
// and there is no re-exec. Socket activation (inherited fds, which a re-exec would close) is in
// test/cli/socket-activation.root.test.ts.
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

async function serve(nodeArgs: string[], env: NodeJS.ProcessEnv = process.env): Promise<string[]> {
  l = layout({ demo: 'name: demo\nidentity: {}\n' });
  child = spawn(process.execPath, [...nodeArgs, BIN, 'serve', '--config', l.configFile], { stdio: 'ignore', env });
  await waitHealthy(l.adminSock, 60_000);
  // The admin socket answers from the process that was spawned: same pid, new command line.
  return cmdline(child.pid!);
}

it('serve re-executes itself in place with the young-generation cap', async () => {
  const argv = await serve([]);
  expect(argv).toContain('--max-semi-space-size=8');
  expect(argv.slice(-3)).toEqual(['serve', '--config', l!.configFile]);
});

it("an operator's own value wins, on the command line or in NODE_OPTIONS (no re-exec then)", async () => {
  const argv = await serve(['--max-semi-space-size=32']);
  expect(argv).toContain('--max-semi-space-size=32');
  expect(argv).not.toContain('--max-semi-space-size=8');
  child!.kill('SIGKILL');
  l!.cleanup();
  const viaEnv = await serve([], { ...process.env, NODE_OPTIONS: '--max-semi-space-size=8' });
  expect(viaEnv.filter((a) => a.startsWith('--max-semi'))).toEqual([]);
});
