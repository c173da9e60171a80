// The test run's own count: with --test-force-exit and two files at a time, as test/run.ts runs
// them, node's runner lost the end of some files' reports (the last tests of a file missing from
// the count, a run of 741 tests where 753 ran). test/support/reportBeforeExit.cjs makes a file's
// process exit only once its report has left; without it the run below, with the same arguments,
// counts fewer tests than ran on nearly every try.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { testRunnerArgs } from '../support/testRunner';

const root = path.resolve(__dirname, '../..');
const files = 8;
const testsPerFile = 15;

/** A file whose report is long: tests with long names, the last five in a suite of their own. */
function reportHeavyFile(n: number): string {
  return `import { describe, it } from 'node:test';
describe('file ${n}', () => {
  for (let t = 1; t <= ${testsPerFile - 5}; t++) it('test ' + t + ' ' + 'x'.repeat(2000), () => {});
});
describe('last of file ${n}', () => {
  for (let t = 1; t <= 5; t++) it('last ' + t + ' ' + 'y'.repeat(2000), () => {});
});
`;
}

describe('the test run counts every test that ran', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'paycenter-report-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const testFiles = Array.from({ length: files }, (_, i) => {
    const file = path.join(dir, `file${i + 1}.test.mjs`);
    writeFileSync(file, reportHeavyFile(i + 1));
    return file;
  });

  it('with --test-force-exit and two files at a time, no file loses the end of its report', () => {
    // This process is itself a test file's: the nested runner must not take itself for one.
    const env = { ...process.env };
    delete env.NODE_TEST_CONTEXT;
    const run = spawnSync(process.execPath, [...testRunnerArgs, ...testFiles], {
      cwd: root,
      env,
      encoding: 'utf8',
      timeout: 60_000,
    });
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, new RegExp(`^ℹ tests ${files * testsPerFile}$`, 'm'));
    assert.match(run.stdout, /^ℹ fail 0$/m);
  });
});
