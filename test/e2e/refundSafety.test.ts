// Money safety of refunds (issue 11): a refund the channel accepted is followed to its end and never
// recorded FAILED because a follow-up query was refused (so its amount is never refunded twice), and
// a stray payment whose first refund run could not confirm it is refunded when a later statement
// does, its reconciliation difference CORRECTED only once that refund succeeded.
// @cluster: refunds followed to their end, never refunded twice.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { businessDayOf } from '../../src/domain/businessDay';
import { expectMoneyConserved } from '../support/money';
import { eventually, startTestSystem, type TestSystem } from '../support/system';
import {
  paidOrder,
  payingOrder,
  postSandboxNotification,
  sandboxSuccess,
  unique,
} from '../support/payments';

let system: TestSystem;
before(async () => {
  system = await startTestSystem({
    ownDatabase: true,
    env: {
      QUERY_SCHEDULE_SECONDS: '1',
      // A refund whose queries keep failing is asked rarely: here, soon after the channel is back.
      QUERY_RARE_SECONDS: '2',
      LATE_WINDOW_SECONDS: '1',
      RECONCILE_CHANNELS: 'sandbox',
      SAFETY_NET_INTERVAL_SECONDS: '86400',
    },
  });
});
after(async () => {
  await system?.stop();
});

const AMOUNT = 8_800;
/** What every scenario here pays for. */
const teaSet = {
  prefix: 'refund-safety',
  amount: AMOUNT,
  subject: 'Tea set',
  expiresInSeconds: 600,
};
const refundView = async (id: string) => (await system.api('GET', `/v1/refunds/${id}`)).body;

const merchantRefund = (payOrderId: string, amount: number) =>
  system.api('POST', '/v1/refunds', { payOrderId, merchantRefundNo: unique('rfd'), amount });

describe('refunds the channel accepted', () => {
  for (const [channel, method] of [
    ['wechatpay', 'native'],
    ['alipay', 'qr'],
    ['sandbox', 'page'],
  ] as const) {
    it(`defect 3: a refund the channel accepted is never recorded FAILED (${channel}: follow-up queries rate-limited)`, async () => {
      const { id, outTradeNo } = await paidOrder(system, teaSet, { channel, method });
      // The channel accepts the refund as processing, then refuses the next refund queries as too
      // frequent (WeChat Pay: HTTP 429 FREQUENCY_LIMITED; Alipay: isv.app-call-limited).
      const faults = await system.simulator('POST', `/control/payments/${outTradeNo}/faults`, {
        slowRefunds: true,
        rateLimitRefundQueries: 3,
      });
      assert.equal(faults.status, 200, JSON.stringify(faults.body));

      const first = await merchantRefund(id, AMOUNT);
      assert.equal(first.status, 201, JSON.stringify(first.body));
      assert.equal(first.body.status, 'PROCESSING');

      // Once every rate-limited answer has been given, the refund is still being followed.
      const followed = await eventually(
        async () => {
          const r = await refundView(first.body.id);
          const left = (await system.simulator('GET', `/control/payments/${outTradeNo}/faults`))
            .body.rateLimitRefundQueries;
          return (r.status === 'FAILED' || left === 0) && r;
        },
        { what: 'the rate-limited refund queries' },
      );
      assert.notEqual(followed.status, 'FAILED');

      // The amount stays taken: a second full refund is refused, whatever the first one's state.
      const second = await merchantRefund(id, AMOUNT);
      assert.equal(second.status, 409, JSON.stringify(second.body));
      assert.equal(second.body.code, 'REFUND_EXCEEDS_PAYMENT');

      const done = await eventually(
        async () => {
          const r = await refundView(first.body.id);
          return r.status !== 'PROCESSING' && r;
        },
        { what: 'the refund to settle', timeoutMs: 60_000 },
      );
      assert.equal(done.status, 'SUCCEEDED');
      const refunds = (await system.trade(outTradeNo)).refunds as { refund_status: string }[];
      assert.deepEqual(
        refunds.map((r) => r.refund_status),
        ['REFUND_SUCCESS'],
      );
      assert.equal((await expectMoneyConserved(system, id)).netAtChannel, 0);
      const order = await system.payOrder(id);
      assert.equal(order.needsAttention, false);
      assert.deepEqual(
        order.refunds.map((r: { status: string }) => r.status),
        ['SUCCEEDED'],
      );
    });
  }
});

describe('a stray payment the channel did not confirm at first', () => {
  const today = businessDayOf(new Date());

  /** A signed sandbox success notification for a channel order (ahead of the channel's query). */
  async function earlySuccessNotification(outTradeNo: string) {
    const body = sandboxSuccess({
      notifyId: unique('early'),
      outTradeNo,
      tradeNo: (await system.trade(outTradeNo)).trade_no,
      amount: AMOUNT,
    });
    const answer = await postSandboxNotification(system, body);
    assert.equal(answer.status, 200);
  }

  async function missedPaymentDifference(outTradeNo: string) {
    const differences = (await system.ops('GET', `/ops/reconciliations/sandbox/${today}`)).body
      .differences as { kind: string; reference: string; resolution: string }[];
    return differences.find((d) => d.kind === 'MISSED_PAYMENT' && d.reference === outTradeNo);
  }

  it('defect 6: a stray payment whose first run ended NOT_PAID is refunded once a statement confirms it', async () => {
    const { id, outTradeNo } = await payingOrder(system, teaSet, {
      channel: 'sandbox',
      method: 'page',
    });
    assert.equal((await system.api('POST', `/v1/pay-orders/${id}/close`)).status, 200);
    await system.workflowCompleted(id, { timeoutMs: 60_000 });
    const attemptId = (await system.payOrder(id)).attempts[0].id as string;
    const strayId = `stray_${attemptId}`;

    // A success notification the channel's query does not confirm (yet): the first run refunds nothing.
    await earlySuccessNotification(outTradeNo);
    await system.workflowCompleted(strayId, { timeoutMs: 60_000 });
    assert.equal(await system.temporal.workflow.getHandle(strayId).result(), 'NOT_PAID');
    assert.deepEqual((await system.payOrder(id)).refunds, []);

    // The payer does pay; the notification is lost and the refund stays processing while the
    // channel rate-limits its queries.
    await system.simulator('POST', `/control/payments/${outTradeNo}/faults`, {
      dropNotifications: true,
      slowRefunds: true,
      rateLimitRefundQueries: 1_000,
    });
    assert.equal(
      (await system.simulator('POST', `/control/payments/${outTradeNo}/pay`)).status,
      200,
    );

    // The statement books the payment: a new stray run confirms it by the statement and refunds.
    const first = await system.ops('POST', '/ops/reconciliations', {
      channel: 'sandbox',
      day: today,
    });
    assert.equal(first.status, 200, JSON.stringify(first.body));
    assert.equal((await missedPaymentDifference(outTradeNo))?.resolution, 'CORRECTING');
    const refund = await eventually(
      async () => {
        const v = await system.payOrder(id);
        return v.refunds.length === 1 && v.refunds[0];
      },
      { what: 'the stray payment refund' },
    );
    assert.equal(refund.reason, 'LATE_PAYMENT');
    assert.equal(refund.amount, AMOUNT);

    // The refund is not done yet: the difference is not corrected yet either.
    await eventually(async () => (await system.trade(outTradeNo)).refunds.length === 1, {
      what: 'the refund at the channel',
    });
    const second = await system.ops('POST', '/ops/reconciliations', {
      channel: 'sandbox',
      day: today,
    });
    assert.equal(second.status, 200, JSON.stringify(second.body));
    assert.equal((await refundView(refund.id)).status, 'PROCESSING');
    assert.equal((await missedPaymentDifference(outTradeNo))?.resolution, 'CORRECTING');

    // The channel answers again; the refund succeeds and the next run finds the day settled.
    await system.simulator('DELETE', `/control/payments/${outTradeNo}/faults`);
    await eventually(async () => (await refundView(refund.id)).status === 'SUCCEEDED', {
      what: 'the refund to succeed',
      timeoutMs: 60_000,
    });
    const third = await system.ops('POST', '/ops/reconciliations', {
      channel: 'sandbox',
      day: today,
    });
    assert.equal(third.status, 200, JSON.stringify(third.body));
    assert.equal((await missedPaymentDifference(outTradeNo))?.resolution, 'CORRECTED');
    assert.equal((await expectMoneyConserved(system, id)).netAtChannel, 0);
    assert.equal((await system.payOrder(id)).status, 'CLOSED');
  });
});
