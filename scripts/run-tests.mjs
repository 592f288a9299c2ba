// Run the whole vitest suite, then print the plain summary line CI reads; exit with vitest's code.
// With --coverage, child processes the tests start (the real gateway, the CLI) write raw V8 coverage
// to coverage/children (NODE_V8_COVERAGE, set in the workers by vitest.config.ts), and
// scripts/coverage-report.mjs prints it merged with vitest's in-process coverage.
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { resolve } from 'node:path';

const report = '.vitest-results.json';
const args = process.argv.slice(2);
const coverage = args.includes('--coverage');
const children = resolve('coverage/children');
if (coverage) rmSync(children, { recursive: true, force: true });
const r = spawnSync(
  'vitest',
  ['run', '--reporter=default', '--reporter=json', `--outputFile.json=${report}`, ...args],
  {
    stdio: 'inherit',
    shell: false,
    env: { ...process.env, ...(coverage ? { GUESTGATE_CHILD_COVERAGE: children } : {}) },
  },
);
if (coverage) spawnSync(process.execPath, ['scripts/coverage-report.mjs'], { stdio: 'inherit' });
spawnSync(process.execPath, ['scripts/test-summary.ts', report], { stdio: 'inherit' });
process.exit(r.status ?? 1);
