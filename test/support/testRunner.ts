// How test/run.ts starts node's test runner, shared with the test that checks the run counts every
// test it ran (test/unit/testRunReport.test.ts).
import path from 'node:path';

/** node's arguments before the test files (test/run.ts adds its timeout). */
export const testRunnerArgs = [
  '--import',
  'tsx',
  // A file's process exits once its report has reached the runner (see the module).
  '--require',
  path.join(__dirname, 'reportBeforeExit.cjs'),
  '--test',
  '--test-reporter=spec',
  '--test-concurrency=2',
  // A file's process ends when its tests do, whatever handles it left open.
  '--test-force-exit',
];
