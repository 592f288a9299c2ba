// Print the plain closing line CI reads ("N passed, N failed, N skipped") from vitest's JSON report.
import { readFileSync } from 'node:fs';
try {
  const r = JSON.parse(readFileSync(process.argv[2] ?? '.vitest-results.json', 'utf8'));
  const skipped = (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0);
  // A file that fails outside any test (e.g. in beforeAll) fails no test: count such files as failures.
  const failed =
    r.numFailedTests + (r.numFailedTests === 0 && !r.success ? Math.max(1, r.numFailedTestSuites ?? 0) : 0);
  console.log(`tests: ${r.numPassedTests} passed, ${failed} failed, ${skipped} skipped`);
} catch (e) {
  console.log(`tests: 0 passed, 1 failed (no vitest report: ${e.message})`);
}
