#!/usr/bin/env node
// Entry point. guestgate needs Node.js >= 24 (built-in zstd, type stripping).
// - A git checkout runs src/ (TypeScript, types stripped by Node 24). Started by an older node, it re-execs
//   under the Node 24 that `npm install` brought in (the `node` dev dependency), forwarding signals.
// - An installed package runs the compiled dist/ and needs Node 24 itself: an older node gets a clear error.
// - `serve` caps V8's young generation (SEMI_SPACE) and fixes its old-generation growth (GROWTH). The cap
//   works only from the command line (V8 sizes the young generation at start): a gateway started without
//   it re-executes itself in place (same pid) unless it holds inherited sockets (systemd socket activation,
//   a restart's handover), which process.execve would close: there the unit passes it (NODE_OPTIONS in
//   systemd/guestgate.service) and a successor inherits its predecessor's. The growth is set at run time.
//   An operator's own value of either flag wins.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = dirname(dirname(fileURLToPath(import.meta.url)));

// A burst of large values (150 admin writes of 512 KiB, each read, parsed, written and sent as an event)
// grew V8's young generation to its 64 MiB maximum and left ~45 MiB of dead large strings until the next
// full GC: ~100 MB of RSS kept after the burst (bench/abuse). The request path runs in 16 MiB of young
// generation either way, so the cap costs it nothing; a fixed 1.5x old-generation growth (V8's adaptive
// default goes up to 4x) collects large garbage sooner. Both measured in bench/abuse and A/B'd in req/s.
const SEMI_SPACE = '--max-semi-space-size=8';
const GROWTH = '--heap-growing-percent=50';
const serve = process.argv[2] === 'serve';
const flagName = (f) => f.split('=')[0].replace(/_/g, '-');
const given = (flag) =>
  [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)].some((f) => flagName(f) === flagName(flag));
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
  const flags = serve && !given(SEMI_SPACE) ? [SEMI_SPACE] : [];
  const child = spawn(bundled, [...flags, fileURLToPath(import.meta.url), ...process.argv.slice(2)], {
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
  // process.execve keeps the pid but closes every descriptor above stderr.
  if (serve && !given(SEMI_SPACE) && !process.env.LISTEN_FDS && typeof process.execve === 'function')
    process.execve(process.execPath, [process.execPath, SEMI_SPACE, ...process.execArgv, ...process.argv.slice(1)]);
  if (serve && !given(GROWTH)) setFlagsFromString(GROWTH);
  // libuv's default of 4 threads serves every fsync, O_DIRECT write and file read of all guests and fills:
  // a burst of admin writes (each fsynced) or a fill waited behind 4. Set before anything uses the pool; an
  // operator's own UV_THREADPOOL_SIZE wins.
  process.env.UV_THREADPOOL_SIZE ??= '16';
  const entry = checkout ? src : join(root, 'dist', 'cli', 'main.js');
  const { main } = await import(pathToFileURL(entry).href);
  const code = await main(process.argv.slice(2));
  if (typeof code === 'number') process.exitCode = code;
}
