// The bench's child processes: up once they print their ready line, stopped on request, and a
// command that cannot be started or a process that dies first fails the start with the reason.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { startChild } from '../../bench/child';

describe('bench child processes', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bench-child-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const options = (name: string) => ({
    name,
    cwd: dir,
    env: process.env,
    logFile: path.join(dir, `${name}.log`),
    ready: `READY ${name}`,
  });
  const node = (script: string) => ({ command: process.execPath, args: ['-e', script] });

  it('is up once it prints its ready line, and stop() ends it', async () => {
    const started = await startChild(
      node(`console.error('to the log'); console.log('READY worker'); setInterval(() => {}, 1000)`),
      options('worker'),
    );
    assert.ok(started.pid > 0);
    await started.stop();
    assert.equal(started.process.signalCode, 'SIGTERM');
    assert.match(readFileSync(path.join(dir, 'worker.log'), 'utf8'), /to the log/);
  });

  it('fails the start with the reason when the command does not exist', async () => {
    await assert.rejects(
      startChild({ command: path.join(dir, 'no-such-command'), args: [] }, options('api')),
      /api could not be started \(.*no-such-command\): spawn .* ENOENT/,
    );
  });

  it('fails the start with its exit code and its log when it ends before it is up', async () => {
    await assert.rejects(
      startChild(node(`console.error('cannot bind'); process.exit(3)`), options('sandbox')),
      /sandbox exited with 3 before it was up; see .*sandbox\.log:\ncannot bind/,
    );
  });
});
