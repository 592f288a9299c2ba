// Print the plain closing line CI reads ("N passed, N failed, N skipped") from vitest's JSON report.
// A file that failed outside any test (a beforeAll that threw, an import error, an afterAll) fails: the
// tests it never ran count as failed, not skipped, and a file with none to count still counts one.
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

/** The parts of vitest's (jest-compatible) JSON report that the summary reads. */
export interface VitestReport {
  success?: boolean;
  testResults?: {
    status: string;
    message?: string;
    assertionResults?: { status: string }[];
  }[];
}

export interface Summary {
  passed: number;
  failed: number;
  skipped: number;
}

export function summarize(report: VitestReport): Summary {
  const s: Summary = { passed: 0, failed: 0, skipped: 0 };
  for (const file of report.testResults ?? []) {
    const tests = file.assertionResults ?? [];
    const passed = tests.filter((t) => t.status === 'passed').length;
    const failed = tests.filter((t) => t.status === 'failed').length;
    const notRun = tests.length - passed - failed;
    // vitest gives a file a message only when something outside its tests threw.
    const fileBroke = file.status === 'failed' && Boolean(file.message);
    s.passed += passed;
    s.failed += failed;
    if (!fileBroke) s.skipped += notRun;
    else s.failed += notRun > 0 ? notRun : failed === 0 ? 1 : 0;
  }
  // A failed run never reads as green (errors vitest reports outside any file).
  if (report.success === false && s.failed === 0) s.failed = 1;
  return s;
}

export function summaryLine(report: VitestReport): string {
  const s = summarize(report);
  return `tests: ${s.passed} passed, ${s.failed} failed, ${s.skipped} skipped`;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  try {
    console.log(summaryLine(JSON.parse(readFileSync(process.argv[2] ?? '.vitest-results.json', 'utf8'))));
  } catch (e) {
    console.log(`tests: 0 passed, 1 failed (no vitest report: ${(e as Error).message})`);
  }
}
