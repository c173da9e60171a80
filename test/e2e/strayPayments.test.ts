// A success that arrives after the pay order's workflow has completed (after its late window)
// still reaches a refund, through a small workflow keyed by the channel order; a repeat of the
// success that paid the order is recognised and refunds nothing.
// @cluster: a success after the workflow completed, refunded through its own workflow.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { eq } from 'drizzle-orm';
import { channelNotifications } from '../../src/db/schema';
import { expectMoneyConserved } from '../support/money';
import { eventually, startTestSystem, type TestSystem } from '../support/system';
import { payingOrder, postSandboxNotification, sandboxSuccess } from '../support/payments';

let system: TestSystem;
before(async () => {
  system = await startTestSystem({ env: { LATE_WINDOW_SECONDS: '1' } });
});
after(async () => {
  await system?.stop();
});

const AMOUNT = 6_600;
/** The order every scenario here pays for, on the sandbox channel. */
const flowers = { prefix: 'stray', amount: AMOUNT, subject: 'Flowers' };

describe('successes after the pay order workflow completed', () => {
  it('refunds a payment made after the order closed and its late window ended', async () => {
    const { id, outTradeNo } = await payingOrder(system, flowers);
    await system.api('POST', `/v1/pay-orders/${id}/close`);
    await system.workflowCompleted(id);

    await system.simulator('POST', `/control/payments/${outTradeNo}/pay`);
    const refunded = await eventually(async () => {
      const v = await system.payOrder(id);
      return v.refunds.length === 1 && v.refunds[0].status === 'SUCCEEDED' && v;
    });
    assert.equal(refunded.status, 'CLOSED');
    assert.equal(refunded.refunds[0].reason, 'LATE_PAYMENT');
    assert.equal(refunded.refunds[0].amount, AMOUNT);
    assert.equal(refunded.attempts[0].status, 'SUCCEEDED');
    const trade = await system.trade(outTradeNo);
    assert.deepEqual(
      trade.refunds.map((r: { refund_amount: number; refund_status: string }) => [
        r.refund_amount,
        r.refund_status,
      ]),
      [[AMOUNT, 'REFUND_SUCCESS']],
    );
    assert.equal(trade.notifications.at(-1).outcome, 'acknowledged');
    await expectMoneyConserved(system, id);
  });

  it('refunds nothing for a late repeat of the success that paid the order, however it is sent', async () => {
    const { id, outTradeNo } = await payingOrder(system, flowers);
    await system.simulator('POST', `/control/payments/${outTradeNo}/pay`);
    await eventually(async () => (await system.payOrder(id)).status === 'SUCCEEDED');
    await system.workflowCompleted(id);

    const trade = await system.trade(outTradeNo);
    const success = (notifyId: string) =>
      sandboxSuccess({ notifyId, outTradeNo, tradeNo: trade.trade_no, amount: AMOUNT });
    const post = (body: string) => postSandboxNotification(system, body);
    const strayId = `stray_${(await system.payOrder(id)).attempts[0].id}`;

    // The very notification again: handed over already, so only acknowledged.
    const repeat = await post(success(trade.notifications[0].notifyId));
    assert.equal(repeat.status, 200);
    assert.equal(await repeat.text(), 'success');
    await assert.rejects(system.temporal.workflow.getHandle(strayId).describe());

    // The same success under a new notification ID: the books hold the channel order as paid, so
    // it is stored and acknowledged, and nothing is started.
    const resentId = `resent-${Date.now()}`;
    const resent = await post(success(resentId));
    assert.equal(resent.status, 200);
    const [stored] = await system.database.db
      .select()
      .from(channelNotifications)
      .where(eq(channelNotifications.dedupeKey, resentId));
    assert.equal(stored?.status, 'ALREADY_PAID');
    await assert.rejects(system.temporal.workflow.getHandle(strayId).describe());
    const after = await system.payOrder(id);
    assert.equal(after.status, 'SUCCEEDED');
    assert.deepEqual(after.refunds, []);
    assert.equal(after.needsAttention, false);
    await expectMoneyConserved(system, id);
  });
});
