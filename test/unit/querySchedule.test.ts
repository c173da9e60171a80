// The active-query schedule for channel orders no notification has settled.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  defaultQuerySchedule,
  needsAttentionAfter,
  nextQueryDelaySeconds,
  nextQueryWaitMs,
  type QuerySchedule,
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

  it('spreads the waits of orders created together over the spread window, never earlier', () => {
    const schedule: QuerySchedule = { ...defaultQuerySchedule, spreadRatio: 0.2 };
    const waits = Array.from({ length: 1000 }, (_, i) =>
      nextQueryWaitMs(schedule, `T${String(i).padStart(12, '0')}`, 0, 0),
    );
    assert.ok(waits.every((ms) => ms >= 10_000 && ms < 12_000));
    // Evenly over the window: each fifth of it gets a fair share of the 1000 orders.
    const fifths = [0, 0, 0, 0, 0];
    for (const ms of waits) fifths[Math.floor((ms - 10_000) / 400)]! += 1;
    assert.ok(
      fifths.every((n) => n > 150 && n < 250),
      `fifths ${fifths.join(', ')}`,
    );
  });

  it('gives the same order and query the same wait every time (a replay computes its timer)', () => {
    const schedule: QuerySchedule = { ...defaultQuerySchedule, spreadRatio: 0.2 };
    const first = nextQueryWaitMs(schedule, 'T000000000042', 0, 0);
    assert.equal(nextQueryWaitMs(schedule, 'T000000000042', 0, 0), first);
    const second = nextQueryWaitMs(schedule, 'T000000000042', 1, 0);
    assert.ok(second >= 20_000 && second < 24_000);
  });

  it('waits exactly the schedule when it has no spread (workflows started before it)', () => {
    const { spreadRatio: _, ...unspread } = defaultQuerySchedule;
    assert.equal(nextQueryWaitMs(unspread, 'T000000000042', 0, 0), 10_000);
    assert.equal(nextQueryWaitMs({ ...unspread, spreadRatio: 0 }, 'T1', 2, 0), 30_000);
  });
});
