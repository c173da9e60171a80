// The bench runs its parts as `npm run cluster` does: the worker, the sandbox and Temporal below
// the API (the dev server through a script, since the SDK starts the CLI itself), unless
// `--equal-priority`, whose results compare with the earlier ones, all at one priority.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { parseOptions } from '../../bench/options';
import { backgroundScript, benchRoleRunsInBackground } from '../../bench/stack';
import { backgroundNice } from '../../src/cpuPriority';

describe('bench CPU priority', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), "bench priority 'quoted' "));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('issue 17: the script runs the executable, with its arguments, 10 nice levels down', () => {
    // Stands in for the Temporal CLI: prints its nice level and its arguments.
    const executable = path.join(dir, "it's a cli");
    writeFileSync(executable, '#!/bin/sh\necho "$(nice) $*"\n', { mode: 0o755 });
    const own = os.getPriority();
    const printed = execFileSync(backgroundScript(dir, executable), ['server', 'start-dev'], {
      encoding: 'utf8',
    });
    assert.equal(printed.trim(), `${Math.min(19, own + backgroundNice)} server start-dev`);
  });

  it('issue 17: every child but the API and the bare route runs in the background', () => {
    const roles = ['sandbox', 'worker', 'api', 'bare-worker', 'bare-route'] as const;
    assert.deepEqual(roles.filter(benchRoleRunsInBackground), ['sandbox', 'worker', 'bare-worker']);
  });

  it('issue 17: --equal-priority leaves the results’ parameters as the earlier runs had them', () => {
    assert.equal(parseOptions([]).backgroundNice, backgroundNice);
    const equal = parseOptions(['--equal-priority']);
    assert.equal('backgroundNice' in equal, false);
    assert.deepEqual(
      Object.keys(equal),
      Object.keys(parseOptions([])).filter((k) => k !== 'backgroundNice'),
    );
  });
});
