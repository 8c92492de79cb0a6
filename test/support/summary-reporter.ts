// Prints the plain closing line CI reads ("N passed, N failed"), after jest's own summary.

interface AggregatedResult {
  numPassedTests: number;
  numFailedTests: number;
  numPendingTests: number;
  numRuntimeErrorTestSuites: number;
}

export default class SummaryReporter {
  onRunComplete(_contexts: unknown, results: AggregatedResult): void {
    // A suite that failed to load counts as a failure even though none of its tests ran.
    const failed = results.numFailedTests + results.numRuntimeErrorTestSuites;
    const line = `${results.numPassedTests} passed, ${failed} failed, ${results.numPendingTests} skipped`;
    // At exit, so it is the very last line, after jest's own summary.
    process.once('exit', () => process.stdout.write(`\n${line}\n`));
  }
}
