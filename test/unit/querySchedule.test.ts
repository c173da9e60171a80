// The active-query schedule for channel orders no notification has settled.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  defaultQuerySchedule,
  needsAttentionAfter,
  nextQueryDelaySeconds,
} from '../../src/domain/querySchedule';

describe('query schedule', () => {
  it('backs off 10s, 20s, 30s, 1m, 2m, 5m, 10m, then every 30m by default', () => {
    const delays = Array.from({ length: 10 }, (_, done) =>
      nextQueryDelaySeconds(defaultQuerySchedule, done, 0),
    );
    assert.deepEqual(delays, [10, 20, 30, 60, 120, 300, 600, 1800, 1800, 1800]);
  });

  it('flags an order for an operator after the configured failures in a row, then queries rarely', () => {
    const schedule = { delaysSeconds: [1, 2], attentionAfterFailures: 3, rareSeconds: 600 };
    assert.equal(needsAttentionAfter(schedule, 2), false);
    assert.equal(needsAttentionAfter(schedule, 3), true);
    assert.equal(nextQueryDelaySeconds(schedule, 2, 2), 2);
    assert.equal(nextQueryDelaySeconds(schedule, 3, 3), 600);
  });
});
