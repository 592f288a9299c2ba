import { defineConfig } from 'vitest/config';

// Test files are named <concern>/<name>.<kind>.test.ts; the kind says what a test needs:
//   unit  pure code, no sockets or processes        int   real sockets and processes, no root
//   root  root: namespaces, cgroups, system packages lxd   a real LXD/Incus (scripts/lxd-setup.sh)
// GUESTGATE_TEST_KINDS=unit,int (npm run test:fast) picks kinds; the default runs them all.
const kinds = (process.env.GUESTGATE_TEST_KINDS ?? 'unit,int,root,lxd').split(',').map((k) => k.trim());

export default defineConfig({
  test: {
    include: kinds.map((k) => `test/**/*.${k}.test.ts`),
    // Integration suites start real servers and processes; 2 cores: keep parallelism modest.
    maxWorkers: 2,
    // Generous: the suite must pass with CPU burners on a shared 2-core machine (npm run test:stress);
    // tests wait on conditions, so a long limit costs nothing when things go well.
    testTimeout: 120_000,
    hookTimeout: 180_000,
    // npm test (scripts/run-tests.mjs --coverage): processes the tests spawn inherit NODE_V8_COVERAGE and
    // write raw V8 coverage on exit; the workers themselves started before, so they do not.
    env: process.env.GUESTGATE_CHILD_COVERAGE ? { NODE_V8_COVERAGE: process.env.GUESTGATE_CHILD_COVERAGE } : {},
    reporters: ['default'],
    coverage: {
      provider: 'v8',
      include: ['src/**/*.ts'],
      reporter: ['text-summary', 'json'],
      reportOnFailure: true,
    },
  },
});
