// npm run test:stress: the root-free kinds (unit, int) and the root integration kind, under CPU burners
// running in parallel, N rounds in a row; stops at the first failing round. Proves the suite does not
// depend on timing. GUESTGATE_STRESS_ROUNDS (default 3), GUESTGATE_STRESS_BURNERS (default 3, on top of
// whatever else the machine runs), GUESTGATE_TEST_KINDS (default unit,int,root).
import { spawn, spawnSync } from 'node:child_process';
import { cpus, loadavg } from 'node:os';

const rounds = Number(process.env.GUESTGATE_STRESS_ROUNDS ?? 3);
const burnerCount = Number(process.env.GUESTGATE_STRESS_BURNERS ?? 3);
const kinds = process.env.GUESTGATE_TEST_KINDS ?? 'unit,int,root';

// A burner: a busy loop in its own process (stdio ignored: nothing to read, nothing to print).
const burners = Array.from({ length: burnerCount }, () =>
  spawn(process.execPath, ['-e', 'for(;;){}'], { stdio: 'ignore' }),
);
const stopBurners = () => {
  for (const b of burners) if (b.exitCode === null && b.signalCode === null) b.kill('SIGKILL');
};
process.on('exit', stopBurners);
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(130));

console.log(`stress: ${rounds} rounds of kinds ${kinds} with ${burnerCount} CPU burners on ${cpus().length} cores`);
let passed = 0;
for (let round = 1; round <= rounds; round++) {
  const started = Date.now();
  const r = spawnSync('vitest', ['run', '--reporter=dot'], {
    stdio: 'inherit',
    env: { ...process.env, GUESTGATE_TEST_KINDS: kinds },
  });
  const secs = ((Date.now() - started) / 1000).toFixed(0);
  const load = loadavg()
    .map((l) => l.toFixed(1))
    .join(' ');
  console.log(`stress round ${round}/${rounds}: ${r.status === 0 ? 'passed' : 'FAILED'} in ${secs} s (load ${load})`);
  if (r.status !== 0) break;
  passed++;
}
console.log(`stress: ${passed} of ${rounds} rounds passed in a row`);
process.exit(passed === rounds ? 0 : 1);
