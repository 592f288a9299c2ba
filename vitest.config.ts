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
    testTimeout: 30_000,
    hookTimeout: 60_000,
    reporters: ['default'],
    coverage: {
      provider: 'v8',
      include: ['src/**/*.ts'],
      reporter: ['text-summary'],
    },
  },
});
