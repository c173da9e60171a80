// The bench's commit probes: both sample over the load's time alone, one with durable commits and
// one whose connection does not wait for the write-ahead log's flush, as the server confirms.
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'node:test';
import { withCommitProbes } from '../../bench/commitProbe';
import { runDatabaseUrl } from '../support/system';

describe('bench commit probes', () => {
  it('samples a durable and an unflushed commit every few milliseconds while the load runs', async () => {
    const [answer, probes] = await withCommitProbes(runDatabaseUrl(), 10, async () => {
      await sleep(500);
      return 'load done';
    });
    assert.equal(answer, 'load done');
    assert.equal(probes.flushed.synchronousCommit, 'on');
    assert.equal(probes.unflushed.synchronousCommit, 'off');
    for (const probe of [probes.flushed, probes.unflushed]) {
      assert.equal(probe.failed, 0, probe.firstError);
      // Due every 10 ms over the 500 ms of the load, and only then (not while connecting).
      assert.ok(probe.count >= 10 && probe.count <= 52, `count ${probe.count}`);
    }
  });
});
