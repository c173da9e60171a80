// The merchantRefund workflow on a real Temporal dev server with an in-memory channel: it follows
// a PROCESSING refund to its end, records it, tells the merchant, and flags a refused one.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Client, Connection } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { NativeConnection, Worker } from '@temporalio/worker';
import type { RefundRecord, RefundStatus } from '../../src/activities/payment';
import type { MerchantEvent } from '../../src/domain/merchantEvents';
import { newId } from '../../src/domain/ids';
import { workflowBundle } from '../../src/system';
import type { MerchantRefundInput } from '../../src/workflows/refund';
import { eventually, runTemporalAddress } from '../support/system';

let client: Client;
let connection: Connection;
before(async () => {
  connection = await Connection.connect({ address: runTemporalAddress() });
  client = new Client({ connection });
});
after(async () => {
  await connection.close();
});

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
  const taskQueue = `wf-refund-${randomUUID()}`;
  const nativeConnection = await NativeConnection.connect({ address: runTemporalAddress() });
  const worker = await Worker.create({
    connection: nativeConnection,
    taskQueue,
    workflowBundle: await workflowBundle(),
    activities: fake.activities(),
  });
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
  try {
    const status = await worker.runUntil(async () => {
      const result = await client.workflow.execute('merchantRefund', {
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
  } finally {
    await nativeConnection.close();
  }
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
