// The keys a demo keeps in DATA_DIR (keys.json) are shared by every process started on that
// folder. Found by the chaos harness: each start rewrote keys.json in place, so a process starting
// beside another read it half written (empty) and died on JSON.parse; and a start killed while
// writing would have left it truncated, losing the secret key that seals the notify secrets.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, utimesSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { runDatabaseUrl } from '../support/system';

const root = path.resolve(__dirname, '../..');
const dataDir = mkdtempSync(path.join(os.tmpdir(), 'paycenter-keys-'));
after(() => rmSync(dataDir, { recursive: true, force: true }));

/** `main.ts migrate` on the run's database, with DATA_DIR the test's own folder. */
const migrate = () =>
  promisify(execFile)(process.execPath, ['--import', 'tsx', 'src/main.ts', 'migrate'], {
    cwd: root,
    env: { ...process.env, DATABASE_URL: runDatabaseUrl(), DATA_DIR: dataDir, LOG_LEVEL: 'warn' },
    timeout: 60_000,
  });

describe('keys kept in DATA_DIR', () => {
  it('a later start reads keys.json and leaves it as it is, so a process starting beside it reads it whole', async () => {
    await migrate();
    const file = path.join(dataDir, 'keys.json');
    const first = readFileSync(file, 'utf8');
    const past = new Date('2001-01-01T00:00:00Z');
    utimesSync(file, past, past);

    await migrate();
    assert.equal(readFileSync(file, 'utf8'), first);
    assert.equal(statSync(file).mtimeMs, past.getTime(), 'keys.json was written again');
    assert.deepEqual(readdirSync(dataDir).sort(), ['channel-keys.json', 'keys.json']);
  });
});
