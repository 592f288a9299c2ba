// Run the whole vitest suite, then print the plain summary line CI reads; exit with vitest's code.
import { spawnSync } from 'node:child_process';
const report = '.vitest-results.json';
const r = spawnSync(
  'vitest',
  ['run', '--reporter=default', '--reporter=json', `--outputFile.json=${report}`, ...process.argv.slice(2)],
  { stdio: 'inherit', shell: false },
);
spawnSync(process.execPath, ['scripts/test-summary.ts', report], { stdio: 'inherit' });
process.exit(r.status ?? 1);
