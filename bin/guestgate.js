#!/usr/bin/env node
// Entry point. guestgate needs Node.js >= 24 (built-in zstd, type stripping).
// - A git checkout runs src/ (TypeScript, types stripped by Node 24). Started by an older node, it re-execs
//   under the Node 24 that `npm install` brought in (the `node` dev dependency), forwarding signals.
// - An installed package runs the compiled dist/ and needs Node 24 itself: an older node gets a clear error.
// - `serve` runs with two V8 heap flags (SERVE_V8_FLAGS): V8 sizes its heap once, at start, so they are
//   given on the command line; a gateway started without them re-executes itself in place (same pid, so
//   socket activation and supervisors see no difference). An operator's own value of either flag wins.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = dirname(dirname(fileURLToPath(import.meta.url)));

// A burst of large values (150 admin writes of 512 KiB, each read, parsed, written and sent as an event)
// grew V8's young generation to its 64 MiB maximum and left ~45 MiB of dead large strings until the next
// full GC: ~100 MB of RSS kept after the burst (bench/abuse). The request path runs in 16 MiB of young
// generation either way, so the cap costs it nothing; a fixed 1.5x old-generation growth (V8's adaptive
// default goes up to 4x) collects large garbage sooner. Both measured in bench/abuse and A/B'd in req/s.
const SERVE_V8_FLAGS = ['--max-semi-space-size=8', '--heap-growing-percent=50'];
const flagName = (f) => f.split('=')[0].replace(/_/g, '-');
function missingServeFlags() {
  if (process.argv[2] !== 'serve') return [];
  const given = new Set([...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)].map(flagName));
  return SERVE_V8_FLAGS.filter((f) => !given.has(flagName(f)));
}
const src = join(root, 'src', 'cli', 'main.ts');
const checkout = existsSync(src);
const major = Number(process.versions.node.split('.')[0]);

if (major < 24) {
  const bundled = join(root, 'node_modules', 'node', 'bin', 'node');
  if (!checkout || !existsSync(bundled)) {
    const hint = checkout
      ? `run 'npm install' in ${root} first (it brings Node 24 for the checkout)`
      : 'install Node.js 24 (https://nodejs.org/) and run guestgate with it';
    process.stderr.write(`guestgate: Node.js 24 or newer is required (this is ${process.version}); ${hint}\n`);
    process.exit(1);
  }
  const child = spawn(bundled, [...missingServeFlags(), fileURLToPath(import.meta.url), ...process.argv.slice(2)], {
    stdio: 'inherit',
  });
  // Forward every stop/reload signal; the wrapper lives exactly as long as the gateway.
  const signals = ['SIGTERM', 'SIGINT', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2'];
  for (const sig of signals) process.on(sig, () => child.kill(sig));
  child.on('exit', (code, signal) => {
    if (signal) {
      // Die of the same signal, so a supervisor sees what the gateway saw.
      for (const sig of signals) process.removeAllListeners(sig);
      process.kill(process.pid, signal);
      return;
    }
    process.exit(code ?? 1);
  });
} else {
  const missing = missingServeFlags();
  // process.execve replaces this process image: same pid, same fds (inherited listening sockets stay).
  if (missing.length > 0 && typeof process.execve === 'function')
    process.execve(process.execPath, [process.execPath, ...missing, ...process.execArgv, ...process.argv.slice(1)]);
  // libuv's default of 4 threads serves every fsync, O_DIRECT write and file read of all guests and fills:
  // a burst of admin writes (each fsynced) or a fill waited behind 4. Set before anything uses the pool; an
  // operator's own UV_THREADPOOL_SIZE wins.
  process.env.UV_THREADPOOL_SIZE ??= '16';
  const entry = checkout ? src : join(root, 'dist', 'cli', 'main.js');
  const { main } = await import(pathToFileURL(entry).href);
  const code = await main(process.argv.slice(2));
  if (typeof code === 'number') process.exitCode = code;
}
