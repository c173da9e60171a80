// The database going away must never take a paycenter process down, nor leave its pool unable to
// answer: every process shares the PostgreSQL driver, whose connections died badly under a
// transaction (workers exited on every `pg_ctl stop -m immediate` of the chaos harness) and while
// opening (the outage tests' cut link); scripts/patch-postgres.cjs says why.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { runDatabaseUrl } from '../support/system';

const run = promisify(execFile);

/** Runs a test/support script in a process of its own: its exit code and what it printed. */
async function runAlone(name: string): Promise<{ code: number; output: string }> {
  const script = path.resolve(__dirname, '../support', name);
  return run(process.execPath, ['--import', 'tsx', script, runDatabaseUrl()], {
    timeout: 60_000,
  }).then(
    ({ stdout }) => ({ code: 0, output: stdout }),
    (err: { code: number; stdout: string; stderr: string }) => ({
      code: err.code,
      output: err.stdout + err.stderr,
    }),
  );
}

describe('a database connection that dies under a transaction', () => {
  it('fails the transaction, keeps the process alive, and the pool answers the next query', async () => {
    const ended = await runAlone('connectionDeath.ts');
    assert.equal(ended.code, 0, ended.output);
    assert.match(ended.output, /transaction: CONNECTION_CLOSED/);
    assert.match(ended.output, /query 1: answered 1/);
  });
});

describe('a database connection that dies while the driver reads the array types', () => {
  it('keeps the process alive, and the pool answers once connected again', async () => {
    const ended = await runAlone('typeFetchDeath.ts');
    assert.equal(ended.code, 0, ended.output);
    assert.match(ended.output, /proxy: dropped the connection reading the array types/);
    assert.match(ended.output, /query \d: answered \d/);
  });
});
