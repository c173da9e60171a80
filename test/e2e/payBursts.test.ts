// A burst of pay requests on one pay order (a payer's double clicks and reloads, a merchant's
// retries) while its first pay is still at the channel: Temporal takes only a few Updates in
// flight on one workflow (10 by default) and refuses the rest, so the API lets a few through at
// a time and queues the others; none is refused 503, and the bank charges once.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { expectMoneyConserved } from '../support/money';
import { createPayOrder } from '../support/payments';
import { startTestSystem, type TestSystem } from '../support/system';

let system: TestSystem;
before(async () => {
  // The first pay may wait 40 s for the bank (it answers once the bank settles, at 20 s), so a
  // slow machine still sees it paid; the 29 behind it have the rest of their 60 s.
  system = await startTestSystem({
    env: { SYNC_PAY_WAIT_SECONDS: '40', UPDATE_WAIT_SECONDS: '60' },
  });
});
after(async () => {
  await system?.stop();
});

describe('a burst of pay requests on one pay order', () => {
  it('answers every request while the first one waits 20 s for the bank, and charges once', async () => {
    const id = await createPayOrder(system, { prefix: 'burst', amount: 3_999, subject: 'Kettle' });
    // The bank accepts the card and settles 20 s later: the first pay holds the order that long,
    // longer than the Temporal client's own retries of a refused Update last (12 to 18 s: waits
    // of 1, 2, 4 and 8 s, each ±20%).
    await system.simulator('POST', '/bankcard/control/next-card', {
      outcome: 'accepted',
      settleAfterMs: 20_000,
    });
    const answers = await Promise.all(
      Array.from({ length: 30 }, () =>
        system.api('POST', `/v1/pay-orders/${id}/pay`, { channel: 'bankcard', method: 'quick' }),
      ),
    );

    const unanswered = answers.filter((a) => a.status >= 500);
    assert.deepEqual(unanswered, [], 'no request of the burst is refused as an outage');
    const paid = answers.filter((a) => a.status === 200);
    assert.equal(paid.length, 1, JSON.stringify(answers.map((a) => a.body)));
    assert.equal(paid[0]!.body.attempt.status, 'SUCCEEDED');
    for (const other of answers.filter((a) => a.status !== 200)) {
      assert.equal(other.status, 409, JSON.stringify(other.body));
      assert.equal(other.body.code, 'ALREADY_PAID');
    }

    const order = await system.payOrder(id);
    assert.equal(order.status, 'SUCCEEDED');
    assert.deepEqual(
      order.attempts.map((a: { status: string }) => a.status),
      ['SUCCEEDED'],
      'one card payment at the bank',
    );
    await expectMoneyConserved(system, id);
  });
});
