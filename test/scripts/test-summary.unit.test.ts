// The CI summary line, from synthetic vitest JSON reports (the shape vitest 4 writes with --reporter=json).
import { describe, expect, it } from 'vitest';
import { summarize, summaryLine, type VitestReport } from '../../scripts/test-summary.ts';

const file = (status: string, tests: string[], message = '') => ({
  status,
  message,
  assertionResults: tests.map((s) => ({ status: s })),
});

describe('test summary', () => {
  it('a beforeAll that threw counts its tests as failed, also when another file has a failing test', () => {
    // What vitest wrote for: file a (beforeAll throws, 2 tests), file b (pass, fail, skip, todo).
    const report: VitestReport = {
      success: false,
      testResults: [
        file('failed', ['skipped', 'skipped'], 'prereq missing'),
        file('failed', ['passed', 'failed', 'skipped', 'todo']),
      ],
    };
    expect(summaryLine(report)).toBe('tests: 1 passed, 3 failed, 2 skipped');
  });

  it('a file that failed to load (no tests) counts one failure', () => {
    const report: VitestReport = {
      success: false,
      testResults: [file('failed', [], 'Cannot find module x'), file('passed', ['passed'])],
    };
    expect(summarize(report)).toEqual({ passed: 1, failed: 1, skipped: 0 });
  });

  it('an afterAll that threw after passing tests fails the file once', () => {
    const report: VitestReport = { success: false, testResults: [file('failed', ['passed', 'passed'], 'cleanup')] };
    expect(summarize(report)).toEqual({ passed: 2, failed: 1, skipped: 0 });
  });

  it('deliberate skips in a healthy run stay skipped', () => {
    const report: VitestReport = {
      success: true,
      testResults: [file('passed', ['passed', 'skipped', 'todo']), file('passed', ['passed'])],
    };
    expect(summaryLine(report)).toBe('tests: 2 passed, 0 failed, 2 skipped');
  });

  it('a failed run never reads as green, even with nothing counted', () => {
    expect(summarize({ success: false, testResults: [] })).toEqual({ passed: 0, failed: 1, skipped: 0 });
  });
});
