// The database going away must never take a paycenter process down, nor leave its pool unable to
// answer: every process shares the PostgreSQL driver, and workers exited on every
// `pg_ctl stop -m immediate` of the chaos harness (scripts/patch-postgres.cjs says why).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { runDatabaseUrl } from '../support/system';

const run = promisify(execFile);

describe('a database connection that dies under a transaction', () => {
  it('fails the transaction, keeps the process alive, and the pool answers the next query', async () => {
    const script = path.resolve(__dirname, '../support/connectionDeath.ts');
    const ended = await run(process.execPath, ['--import', 'tsx', script, runDatabaseUrl()], {
      timeout: 60_000,
    }).then(
      ({ stdout }) => ({ code: 0, output: stdout }),
      (err: { code: number; stdout: string; stderr: string }) => ({
        code: err.code,
        output: err.stdout + err.stderr,
      }),
    );
    assert.equal(ended.code, 0, ended.output);
    assert.match(ended.output, /transaction: CONNECTION_CLOSED/);
    assert.match(ended.output, /query 1: answered 1/);
  });
});
