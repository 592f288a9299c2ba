#!/usr/bin/env node
// Entry point. guestgate needs Node.js >= 24 (built-in zstd, type stripping). When started by an
// older node, re-exec under the Node 24 that `npm install` brought in (the npm `node` package).
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const major = Number(process.versions.node.split('.')[0]);
if (major < 24) {
  const bundled = join(root, 'node_modules', 'node', 'bin', 'node');
  if (!existsSync(bundled)) {
    process.stderr.write(
      `guestgate: Node.js >= 24 is required (this is ${process.version}); run 'npm install' in ${root} first\n`,
    );
    process.exit(1);
  }
  const child = spawn(bundled, [fileURLToPath(import.meta.url), ...process.argv.slice(2)], { stdio: 'inherit' });
  for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP']) process.on(sig, () => child.kill(sig));
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 128 : 1)));
} else {
  // A checkout runs its TypeScript directly (Node 24 strips types); an installed build runs dist/.
  const src = join(root, 'src', 'cli', 'main.ts');
  const entry = existsSync(src) ? src : join(root, 'dist', 'cli', 'main.js');
  const { main } = await import(pathToFileURL(entry).href);
  const code = await main(process.argv.slice(2));
  if (typeof code === 'number') process.exitCode = code;
}
