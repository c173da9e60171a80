// The merchantRefund workflow on a real Temporal dev server with an in-memory channel: it follows
// a PROCESSING refund to its end, records it, tells the merchant, and flags a refused one.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ApplicationFailure } from '@temporalio/common';
import type { MerchantEvent } from '../../src/domain/merchantEvents';
import { newId } from '../../src/domain/ids';
import {
  merchantRefundWorkflow,
  type MerchantRefundInput,
  type RefundRecord,
  type RefundStatus,
} from '../../src/workflows/contracts/merchantRefund';
import { eventually } from '../support/system';
import { runWorker, temporalClient } from '../support/workflowHarness';

class FakeRefunds {
  refundCalls: { refundNo: string; amount: number }[] = [];
  queries = 0;
  saved: RefundRecord[] = [];
  flagged: string[] = [];
  events: MerchantEvent[] = [];
  constructor(readonly answer: RefundStatus | 'reject') {}

  activities() {
    return {
      refundChannelOrder: async (ref: { refundNo: string; amount: number }) => {
        this.refundCalls.push({ refundNo: ref.refundNo, amount: ref.amount });
        if (this.answer === 'reject') {
          throw ApplicationFailure.nonRetryable('REFUND_AMOUNT_EXCEEDED', 'CHANNEL_REJECTED');
        }
        return this.answer;
      },
      queryChannelRefund: async () => {
        this.queries++;
        return 'SUCCEEDED' as const;
      },
      saveRefund: async (refund: RefundRecord) => {
        this.saved.push(refund);
      },
      flagPayOrder: async ({ payOrderId }: { payOrderId: string }) => {
        this.flagged.push(payOrderId);
      },
      recordMerchantEvent: async (event: MerchantEvent) => {
        this.events.push(event);
        return false;
      },
      deliverMerchantEvent: async () => true,
      giveUpMerchantEvent: async () => {},
    };
  }
}

async function run(fake: FakeRefunds) {
  const refund: RefundRecord = {
    id: newId('rf', Date.now(), Math.random),
    payOrderId: newId('po', Date.now(), Math.random),
    merchantId: 'mch_demo',
    attemptId: newId('att', Date.now(), Math.random),
    amount: 300,
    currency: 'CNY',
    reason: 'MERCHANT_REQUEST',
    status: 'PROCESSING',
  };
  const input: MerchantRefundInput = {
    refund,
    channel: 'sandbox',
    outTradeNo: 'T1',
    merchantOrderNo: 'order-1',
    orderAmount: 1000,
    querySchedule: { delaysSeconds: [1], attentionAfterFailures: 10, rareSeconds: 60 },
    merchantNotifyRetrySeconds: [1],
  };
  const status = await runWorker(fake.activities(), async (taskQueue) => {
    const result = await temporalClient().workflow.execute(merchantRefundWorkflow.type, {
      workflowId: refund.id,
      taskQueue,
      args: [input],
    });
    // The notification is a child that runs on; give it the moment it needs.
    await eventually(async () => fake.answer === 'reject' || fake.events.length > 0, {
      timeoutMs: 5_000,
    }).catch(() => undefined);
    return result as RefundStatus;
  });
  return { status, refund };
}

describe('merchantRefund workflow', () => {
  it('follows a PROCESSING refund with a query, records SUCCEEDED and tells the merchant', async () => {
    const fake = new FakeRefunds('PROCESSING');
    const { status, refund } = await run(fake);
    assert.equal(status, 'SUCCEEDED');
    assert.deepEqual(fake.refundCalls, [{ refundNo: refund.id, amount: 300 }]);
    assert.equal(fake.queries, 1);
    assert.deepEqual(
      fake.saved.map((r) => [r.id, r.status, r.reason]),
      [[refund.id, 'SUCCEEDED', 'MERCHANT_REQUEST']],
    );
    assert.equal(fake.events.length, 1);
    assert.equal(fake.events[0]!.type, 'pay_order.refunded');
    assert.deepEqual(fake.events[0]!.data.refund, {
      id: refund.id,
      amount: 300,
      reason: 'MERCHANT_REQUEST',
      status: 'SUCCEEDED',
    });
    assert.deepEqual(fake.flagged, []);
  });

  it('records a refund the channel refuses as FAILED and flags the order', async () => {
    const fake = new FakeRefunds('reject');
    const { status, refund } = await run(fake);
    assert.equal(status, 'FAILED');
    assert.deepEqual(
      fake.saved.map((r) => r.status),
      ['FAILED'],
    );
    assert.deepEqual(fake.flagged, [refund.payOrderId]);
    assert.deepEqual(fake.events, []);
  });
});
