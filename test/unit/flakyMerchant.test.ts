// The bench's flaky merchant endpoint: which tries it fails, what that makes each event's
// outcome, and how late a retry counts as arriving.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  failsTry,
  retryLateness,
  triesUntilOutcome,
  type MerchantTry,
} from '../../bench/flakyMerchant';

const eventIds = Array.from({ length: 4000 }, (_, i) => `evt_${String(i).padStart(26, '0')}`);
const schedule = [1, 2, 4, 8, 16];

describe('bench flaky merchant endpoint', () => {
  it('fails about half of first tries and half of retries, the same way every time', () => {
    for (const tryNo of [1, 2, 5]) {
      const failed = eventIds.filter((id) => failsTry(id, tryNo)).length;
      assert.ok(Math.abs(failed / eventIds.length - 0.5) < 0.04, `try ${tryNo}: ${failed} failed`);
    }
    assert.deepEqual(
      eventIds.map((id) => failsTry(id, 3)),
      eventIds.map((id) => failsTry(id, 3)),
    );
    // A retry's answer does not follow from the first's.
    const both = eventIds.filter((id) => failsTry(id, 1) && failsTry(id, 2)).length;
    assert.ok(Math.abs(both / eventIds.length - 0.25) < 0.04, `${both} failed twice`);
  });

  it('delivers an event at its first 2xx, and gives up after the schedule when every try fails', () => {
    const outcomes = eventIds.map((id) => triesUntilOutcome(id, schedule));
    for (const [i, outcome] of outcomes.entries()) {
      const id = eventIds[i]!;
      if (outcome.delivered) {
        assert.equal(failsTry(id, outcome.tries), false);
        for (let n = 1; n < outcome.tries; n++) assert.equal(failsTry(id, n), true);
      } else {
        assert.equal(outcome.tries, schedule.length + 1);
        for (let n = 1; n <= outcome.tries; n++) assert.equal(failsTry(id, n), true);
      }
    }
    // Six tries all failing: about 1 in 64.
    const given = outcomes.filter((o) => !o.delivered).length;
    assert.ok(given > 20 && given < 110, `${given} of ${eventIds.length} FAILED`);
  });

  it('counts a retry late from the previous answer plus the delay after that try', () => {
    const at = (arrivedAt: number, status = 500): MerchantTry => ({
      arrivedAt,
      answeredAt: arrivedAt + 5,
      status,
    });
    // Answered at 5, retry due 1005, came at 1030; answered at 1035, retry due 3035, came at 3035.
    const tries = [at(0), at(1030), at(3035, 204)];
    assert.deepEqual(retryLateness(tries, schedule), [
      { afterTry: 1, lateMs: 25 },
      { afterTry: 2, lateMs: 0 },
    ]);
    // One try: no retry to time. A try beyond the schedule (a repeated POST) has no due time.
    assert.deepEqual(retryLateness([at(0, 204)], schedule), []);
    assert.deepEqual(retryLateness([at(0), at(1010), at(1100)], [1]), [{ afterTry: 1, lateMs: 5 }]);
  });
});
