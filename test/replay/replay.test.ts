// Replays recorded payment histories against today's workflow code: a change that would break
// running workflows (non-determinism) fails here. Refresh the recordings only on purpose
// (RECORD_HISTORIES=1, see test/workflow/payment.test.ts), and use patching for live changes.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { Worker } from '@temporalio/worker';
import { untracedWorkflowSinks } from '../../src/tracing';
import { workflowBundle } from '../../src/workflowBundle';

const folder = path.join(__dirname, 'histories');
const recordings = readdirSync(folder).filter((f) => f.endsWith('.json'));

describe('replay of recorded payment histories', () => {
  it('has recordings to replay', () => {
    assert.ok(recordings.length >= 2, `found ${recordings.length} in ${folder}`);
  });
  for (const file of recordings) {
    it(`replays ${file} without non-determinism`, async () => {
      const history = historyFromJSON(JSON.parse(readFileSync(path.join(folder, file), 'utf8')));
      // The sink a worker always has for traced workflows' spans (src/tracing.ts).
      const options = { workflowBundle: await workflowBundle(), sinks: untracedWorkflowSinks };
      await Worker.runReplayHistory(options, history, file);
    });
  }
});
