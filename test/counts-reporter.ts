import type { Reporter, TestCase, TestModule } from 'vitest/node';

/**
 * Ends a run with the plain line CI reads, `N passed, N failed` (plus skipped), on its own line.
 * Counts test cases; a file that fails to load counts as one failure so it cannot pass silently.
 */
export default class CountsReporter implements Reporter {
  private passed = 0;
  private failed = 0;
  private skipped = 0;

  onTestCaseResult(testCase: TestCase): void {
    const state = testCase.result().state;
    if (state === 'passed') this.passed++;
    else if (state === 'failed') this.failed++;
    else if (state === 'skipped') this.skipped++;
  }

  onTestRunEnd(modules: ReadonlyArray<TestModule>, unhandledErrors: ReadonlyArray<unknown>): void {
    const brokenFiles = modules.filter((m) => m.state() === 'failed' && [...m.children.allTests()].length === 0).length;
    const failed = this.failed + brokenFiles + unhandledErrors.length;
    process.stdout.write(`\n${this.passed} passed, ${failed} failed${this.skipped ? `, ${this.skipped} skipped` : ''}\n`);
  }
}
