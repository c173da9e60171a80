// Money safety over HTTP (issue 11): a flood of pay requests at one order leaves its workflow's
// history bounded and the order still settles and refunds; a payment of another amount is final
// for its channel order and goes back to the payer.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { searchAttributes } from '../../src/workflows/contracts/payment';
import { expectMoneyConserved } from '../support/money';
import { createPayOrder, unique } from '../support/payments';
import { eventually, startTestSystem, type TestSystem } from '../support/system';

let system: TestSystem;
before(async () => {
  system = await startTestSystem({
    env: {
      API_RATE_LIMIT_PER_MINUTE: '100000',
      PAY_ORDER_MAX_CHANNEL_ORDERS: '30',
      PAYMENT_CONTINUE_AS_NEW_AFTER_EVENTS: '300',
      LATE_WINDOW_SECONDS: '2',
    },
  });
});
after(async () => {
  await system?.stop();
});

const AMOUNT = 4_200;

const newOrder = (expiresInSeconds = 600, merchantOrderNo = uniqueOrderNo()) =>
  createPayOrder(system, {
    prefix: 'safety',
    merchantOrderNo,
    amount: AMOUNT,
    subject: 'Noodles',
    expiresInSeconds,
  });

const uniqueOrderNo = () => unique('safety');

describe('money safety over HTTP', () => {
  it('defect 2: 3,000 reuse, switch and sync requests at one order keep its history bounded; it still settles and refunds', async () => {
    const merchantOrderNo = uniqueOrderNo();
    const id = await newOrder(600, merchantOrderNo);
    const first = await system.temporal.workflow.getHandle(id).describe();
    const answers = new Map<string, number>();
    const requests = Array.from({ length: 3000 }, (_, i) => i);
    const methods = ['page', 'qr'];
    let next = 0;
    async function driver() {
      while (next < requests.length) {
        const i = next++;
        const kind = i % 10;
        const answer =
          kind === 9
            ? await system.api('POST', `/v1/pay-orders/${id}/sync`)
            : await system.api('POST', `/v1/pay-orders/${id}/pay`, {
                channel: 'sandbox',
                // Mostly the open method again (reuse); now and then the other one (switch).
                method: methods[kind === 0 ? Math.floor(i / 10) % 2 : 0],
              });
        const key = `${answer.status} ${answer.body?.code ?? ''}`.trim();
        answers.set(key, (answers.get(key) ?? 0) + 1);
      }
    }
    await Promise.all(Array.from({ length: 8 }, driver));
    for (const key of answers.keys()) {
      assert.ok(
        ['200', '409 TOO_MANY_CHANNEL_ORDERS'].includes(key),
        `unexpected answers: ${JSON.stringify([...answers])}`,
      );
    }
    assert.ok((answers.get('409 TOO_MANY_CHANNEL_ORDERS') ?? 0) > 0, 'the cap was reached');

    const paying = await system.payOrder(id);
    assert.equal(paying.status, 'PAYING');
    assert.equal(paying.attempts.length, 30);
    const open = paying.attempts.filter((a: { status: string }) => a.status === 'PENDING');
    assert.equal(open.length, 1, JSON.stringify(paying.attempts));
    const now = await system.temporal.workflow.getHandle(id).describe();
    assert.notEqual(now.runId, first.runId, 'the workflow continued as new');
    assert.equal(now.typedSearchAttributes.get(searchAttributes.merchantOrderNo), merchantOrderNo);
    assert.equal(now.typedSearchAttributes.get(searchAttributes.payStatus), 'PAYING');
    assert.ok((now.historyLength ?? 0) < 600, `history of the current run: ${now.historyLength}`);

    // The payer pays the open channel order, and an old one they had left open in a tab.
    const paid = open[0].outTradeNo as string;
    const stale = paying.attempts[5].outTradeNo as string;
    assert.equal((await system.simulator('POST', `/control/payments/${paid}/pay`)).status, 200);
    await eventually(async () => (await system.payOrder(id)).status === 'SUCCEEDED', {
      what: 'paid',
    });
    assert.equal((await system.simulator('POST', `/control/payments/${stale}/pay`)).status, 200);
    const settled = await eventually(
      async () => {
        const v = await system.payOrder(id);
        return v.refunds.length === 1 && v.refunds[0].status === 'SUCCEEDED' && v;
      },
      { what: 'the duplicate refunded', timeoutMs: 60_000 },
    );
    assert.equal(settled.refunds[0].reason, 'DUPLICATE_PAYMENT');
    assert.equal((await expectMoneyConserved(system, id)).netAtChannel, AMOUNT);
  });

  it('defect 8: a payment of another amount is final for its channel order and refunded; the order can still be paid', async () => {
    const id = await newOrder();
    const pay = async (method: string) => {
      const answer = await system.api('POST', `/v1/pay-orders/${id}/pay`, {
        channel: 'sandbox',
        method,
      });
      assert.equal(answer.status, 200, JSON.stringify(answer.body));
      return answer.body.attempt.outTradeNo as string;
    };
    const first = await pay('page');
    const paidOther = await system.simulator('POST', `/control/payments/${first}/pay`, {
      amount: 4_000,
    });
    assert.equal(paidOther.status, 200);
    // The refund and the order's own row are written by activities that run side by side: the
    // refund may show SUCCEEDED a moment before the row shows the mismatch and its flag.
    const refunded = await eventually(
      async () => {
        const v = await system.payOrder(id);
        return v.refunds[0]?.status === 'SUCCEEDED' && v.needsAttention === true && v;
      },
      { what: 'the other amount refunded and the order flagged' },
    );
    assert.equal(refunded.status, 'PAYING');
    assert.equal(refunded.needsAttention, true);
    assert.deepEqual(
      refunded.attempts.map((a: { status: string }) => a.status),
      ['AMOUNT_MISMATCH'],
    );
    assert.deepEqual(
      refunded.refunds.map((r: { amount: number; reason: string }) => [r.amount, r.reason]),
      [[4_000, 'AMOUNT_MISMATCH']],
    );
    // Switching opens one new channel order; the mismatched one is never open again.
    const second = await pay('qr');
    assert.equal((await system.simulator('POST', `/control/payments/${second}/pay`)).status, 200);
    const settled = await eventually(async () => {
      const v = await system.payOrder(id);
      return v.status === 'SUCCEEDED' && v;
    });
    assert.deepEqual(
      settled.attempts.map((a: { status: string }) => a.status),
      ['AMOUNT_MISMATCH', 'SUCCEEDED'],
    );
    assert.equal((await expectMoneyConserved(system, id)).netAtChannel, AMOUNT);
  });

  it('defect 8: an order closed after a payment of another amount leaves no money at the channel', async () => {
    const id = await newOrder();
    const answer = await system.api('POST', `/v1/pay-orders/${id}/pay`, { channel: 'sandbox' });
    const outTradeNo = answer.body.attempt.outTradeNo as string;
    await system.simulator('POST', `/control/payments/${outTradeNo}/pay`, { amount: 1 });
    await eventually(async () => (await system.payOrder(id)).refunds[0]?.status === 'SUCCEEDED', {
      what: 'the other amount refunded',
    });
    const closed = await system.api('POST', `/v1/pay-orders/${id}/close`);
    assert.equal(closed.status, 200);
    assert.equal(closed.body.status, 'CLOSED');
    assert.equal((await expectMoneyConserved(system, id)).netAtChannel, 0);
  });
});
