// Bank-card quick pay through the whole system: a synchronous channel whose answer the pay request
// returns at once, waits for a bounded time when the bank only accepted it, and never loses a
// payment whose answer timed out.
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { expectMoneyConserved } from '../support/money';
import { eventually, startTestSystem, type TestSystem } from '../support/system';
import { createPayOrder } from '../support/payments';

let system: TestSystem;
before(async () => {
  system = await startTestSystem({
    env: {
      SYNC_PAY_WAIT_SECONDS: '3',
      CHANNEL_TIMEOUT_MS: '1000',
      QUERY_SCHEDULE_SECONDS: '1',
    },
  });
});
after(async () => {
  await system?.stop();
});
beforeEach(async () => {
  await system.simulator('DELETE', '/bankcard/control/next-card');
});

const AMOUNT = 2_599;
const newOrder = () =>
  createPayOrder(system, { prefix: 'card', amount: AMOUNT, subject: 'Headphones' });

const payByCard = (id: string) =>
  system.api('POST', `/v1/pay-orders/${id}/pay`, { channel: 'bankcard', method: 'quick' });

const nextCard = (card: { outcome: string; settleAfterMs?: number; respCode?: string }) =>
  system.simulator('POST', '/bankcard/control/next-card', card);

describe('bank-card quick pay', () => {
  it('answers a charged card at once: the order is paid by the pay request itself', async () => {
    const id = await newOrder();
    const paid = await payByCard(id);
    assert.equal(paid.status, 200, JSON.stringify(paid.body));
    assert.equal(paid.body.attempt.status, 'SUCCEEDED');
    assert.equal(paid.body.attempt.payUrl, undefined);
    assert.equal((await system.payOrder(id)).status, 'SUCCEEDED');
    await expectMoneyConserved(system, id);
  });

  it("answers a declined card 402 PAYMENT_DECLINED with the bank's code; another card then pays", async () => {
    const id = await newOrder();
    await nextCard({ outcome: 'declined', respCode: '65' });
    const declined = await payByCard(id);
    assert.equal(declined.status, 402);
    assert.equal(declined.body.code, 'PAYMENT_DECLINED');
    assert.equal(declined.body.decline_code, '65');
    assert.equal((await system.payOrder(id)).status, 'PAYING');

    const paid = await payByCard(id);
    assert.equal(paid.body.attempt.status, 'SUCCEEDED');
    const settled = await system.payOrder(id);
    assert.deepEqual(
      settled.attempts.map((a: { status: string }) => a.status),
      ['CLOSED', 'SUCCEEDED'],
    );
    await expectMoneyConserved(system, id);
  });

  it('waits for a payment the bank only accepted, and answers it paid within the wait', async () => {
    const id = await newOrder();
    await nextCard({ outcome: 'accepted', settleAfterMs: 500 });
    const paid = await payByCard(id);
    assert.equal(paid.body.attempt.status, 'SUCCEEDED');
    assert.equal((await system.payOrder(id)).status, 'SUCCEEDED');
    await expectMoneyConserved(system, id);
  });

  it('answers PENDING when the bank has not settled within the wait, and settles it later', async () => {
    const id = await newOrder();
    await nextCard({ outcome: 'unknown', settleAfterMs: 5_000 });
    const pending = await payByCard(id);
    assert.equal(pending.status, 200);
    assert.equal(pending.body.attempt.status, 'PENDING');
    await eventually(async () => (await system.payOrder(id)).status === 'SUCCEEDED', {
      what: 'the card payment to settle',
    });
    await expectMoneyConserved(system, id);
  });

  it('retries a card payment whose answer timed out with the same order number', async () => {
    const id = await newOrder();
    await nextCard({ outcome: 'timeout', settleAfterMs: 4_000 });
    const answer = await payByCard(id);
    // The first try times out; the retry with the same orderId learns the order exists.
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    assert.ok(['PENDING', 'SUCCEEDED'].includes(answer.body.attempt.status));

    const settled = await eventually(
      async () => {
        const v = await system.payOrder(id);
        return v.status === 'SUCCEEDED' && v;
      },
      { what: 'the timed-out card payment to be found' },
    );
    assert.deepEqual(
      settled.attempts.map((a: { status: string }) => a.status),
      ['SUCCEEDED'],
    );
    await expectMoneyConserved(system, id);
  });
});
