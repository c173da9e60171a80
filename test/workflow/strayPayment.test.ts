// The strayPayment workflow on a real Temporal dev server with stubbed books and channel: a success
// that arrives after its pay order's workflow has completed is refunded only when the channel
// confirms it, with the reason the books give, and the merchant is told; anything else is flagged.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ApplicationFailure } from '@temporalio/common';
import type { ChannelFact, ExtraPaymentReason } from '../../src/domain/payOrder';
import type { MerchantEvent } from '../../src/domain/merchantEvents';
import { newId } from '../../src/domain/ids';
import type { RefundRecord, RefundStatus } from '../../src/workflows/contracts/merchantRefund';
import {
  strayPaymentWorkflow,
  strayPaymentWorkflowId,
  type StrayPaymentInput,
  type StrayPaymentOutcome,
} from '../../src/workflows/contracts/strayPayment';
import { eventually } from '../support/system';
import { runWorker, temporalClient } from '../support/workflowHarness';

type Verdict =
  | { kind: 'accounted' }
  | {
      kind: 'refund';
      reason: ExtraPaymentReason;
      amount: number;
      currency: 'CNY';
      merchantId: string;
      merchantOrderNo: string;
      orderStatus: 'SUCCEEDED' | 'CLOSED';
      orderAmount: number;
    };

/** The books' verdict on a second payment of a paid order: 500 of 500, refunded as a duplicate. */
function refundVerdict(overrides: Partial<Extract<Verdict, { kind: 'refund' }>> = {}): Verdict {
  return {
    kind: 'refund',
    reason: 'DUPLICATE_PAYMENT',
    amount: 500,
    currency: 'CNY',
    merchantId: 'mch_demo',
    merchantOrderNo: 'order-stray',
    orderStatus: 'SUCCEEDED',
    orderAmount: 500,
    ...overrides,
  };
}

/** Books and channel as the stray payment sees them; every call is recorded. */
class StrayBooks {
  classified: { payOrderId: string; attemptId: string }[] = [];
  queried: string[] = [];
  markedPaid: string[] = [];
  flagged: { payOrderId: string; reason?: string }[] = [];
  saved: RefundRecord[] = [];
  refundCalls: { outTradeNo: string; refundNo: string; amount: number }[] = [];
  events: MerchantEvent[] = [];

  constructor(
    readonly verdict: Verdict,
    /** What the channel answers a query for the channel order. */
    readonly channelAnswer: Omit<ChannelFact, 'outTradeNo' | 'source'>,
    readonly refundAnswer: RefundStatus | 'reject' = 'SUCCEEDED',
  ) {}

  activities() {
    return {
      classifyStrayPayment: async (ref: { payOrderId: string; attemptId: string }) => {
        this.classified.push(ref);
        return this.verdict;
      },
      queryChannelOrder: async ({ outTradeNo }: { outTradeNo: string }): Promise<ChannelFact> => {
        this.queried.push(outTradeNo);
        return { ...this.channelAnswer, outTradeNo, source: 'query' };
      },
      markAttemptPaid: async ({ attemptId }: { attemptId: string }) => {
        this.markedPaid.push(attemptId);
      },
      flagPayOrder: async (flag: { payOrderId: string; reason?: string }) => {
        this.flagged.push(flag);
      },
      saveRefund: async (refund: RefundRecord) => {
        this.saved.push(refund);
      },
      refundChannelOrder: async (ref: { outTradeNo: string; refundNo: string; amount: number }) => {
        this.refundCalls.push({
          outTradeNo: ref.outTradeNo,
          refundNo: ref.refundNo,
          amount: ref.amount,
        });
        if (this.refundAnswer === 'reject') {
          throw ApplicationFailure.nonRetryable('TRADE_STATUS_ERROR', 'CHANNEL_REJECTED');
        }
        return this.refundAnswer;
      },
      queryChannelRefund: async () => 'SUCCEEDED' as const,
      recordMerchantEvent: async (event: MerchantEvent) => {
        this.events.push(event);
        return false;
      },
      deliverMerchantEvent: async () => true,
      giveUpMerchantEvent: async () => {},
    };
  }
}

async function strayPaymentThrough(books: StrayBooks, overrides: Partial<StrayPaymentInput> = {}) {
  const input: StrayPaymentInput = {
    payOrderId: newId('po', Date.now(), Math.random),
    attemptId: newId('att', Date.now(), Math.random),
    channel: 'alipay',
    outTradeNo: `T-stray-${Date.now()}`,
    querySchedule: { delaysSeconds: [1], attentionAfterFailures: 10, rareSeconds: 60 },
    merchantNotifyRetrySeconds: [1],
    ...overrides,
  };
  const outcome = await runWorker(books.activities(), async (taskQueue) => {
    const result = (await temporalClient().workflow.execute(strayPaymentWorkflow.type, {
      workflowId: strayPaymentWorkflowId(input.attemptId),
      taskQueue,
      args: [input],
    })) as StrayPaymentOutcome;
    // The merchant's notification is a child that runs on after the refund; wait for its record.
    if (result === 'SUCCEEDED' || result === 'PROCESSING') {
      await eventually(async () => books.events.length > 0, {
        timeoutMs: 10_000,
        what: 'the refund notification',
      });
    }
    return result;
  });
  return { outcome, input };
}

const paid500 = { status: 'SUCCEEDED', amount: 500 } as const;

describe('strayPayment workflow', () => {
  it('does nothing for a payment the books already account for', async () => {
    const books = new StrayBooks({ kind: 'accounted' }, paid500);
    const { outcome, input } = await strayPaymentThrough(books);
    assert.equal(outcome, 'ALREADY_ACCOUNTED');
    assert.deepEqual(books.classified, [
      { payOrderId: input.payOrderId, attemptId: input.attemptId },
    ]);
    assert.deepEqual(books.queried, []);
    assert.deepEqual(books.markedPaid, []);
    assert.deepEqual(books.refundCalls, []);
    assert.deepEqual(books.saved, []);
    assert.deepEqual(books.flagged, []);
  });

  it('flags the order and refunds nothing when the channel says the order is not paid', async () => {
    const books = new StrayBooks(refundVerdict(), { status: 'PENDING' });
    const { outcome, input } = await strayPaymentThrough(books);
    assert.equal(outcome, 'NOT_PAID');
    assert.deepEqual(books.queried, [input.outTradeNo]);
    assert.equal(books.flagged.length, 1);
    assert.equal(books.flagged[0]!.payOrderId, input.payOrderId);
    assert.match(books.flagged[0]!.reason ?? '', new RegExp(input.outTradeNo));
    assert.deepEqual(books.markedPaid, []);
    assert.deepEqual(books.refundCalls, []);
    assert.deepEqual(books.saved, []);
  });

  it('flags the order when the channel confirms another amount than the books hold', async () => {
    const books = new StrayBooks(refundVerdict({ amount: 500 }), {
      status: 'SUCCEEDED',
      amount: 499,
    });
    const { outcome, input } = await strayPaymentThrough(books);
    assert.equal(outcome, 'NOT_PAID');
    assert.deepEqual(
      books.flagged.map((f) => f.payOrderId),
      [input.payOrderId],
    );
    assert.deepEqual(books.markedPaid, []);
    assert.deepEqual(books.refundCalls, []);
  });

  it('marks a confirmed late payment paid, refunds it as LATE_PAYMENT and tells the merchant', async () => {
    const books = new StrayBooks(
      refundVerdict({
        reason: 'LATE_PAYMENT',
        orderStatus: 'CLOSED',
        amount: 800,
        orderAmount: 800,
      }),
      { status: 'SUCCEEDED', amount: 800 },
    );
    const { outcome, input } = await strayPaymentThrough(books);
    assert.equal(outcome, 'SUCCEEDED');
    assert.deepEqual(books.queried, [input.outTradeNo]);
    assert.deepEqual(books.markedPaid, [input.attemptId]);

    // Stored PROCESSING before the channel is asked, then with the channel's final answer.
    assert.deepEqual(
      books.saved.map((r) => r.status),
      ['PROCESSING', 'SUCCEEDED'],
    );
    const refund = books.saved[0]!;
    assert.deepEqual(
      { ...refund, id: undefined },
      {
        id: undefined,
        payOrderId: input.payOrderId,
        merchantId: 'mch_demo',
        attemptId: input.attemptId,
        amount: 800,
        currency: 'CNY',
        reason: 'LATE_PAYMENT',
        status: 'PROCESSING',
      },
    );
    assert.equal(books.saved[1]!.id, refund.id);
    assert.deepEqual(books.refundCalls, [
      { outTradeNo: input.outTradeNo, refundNo: refund.id, amount: 800 },
    ]);

    assert.equal(books.events.length, 1);
    const event = books.events[0]!;
    assert.equal(event.type, 'pay_order.refunded');
    assert.equal(event.data.payOrderId, input.payOrderId);
    assert.equal(event.data.merchantOrderNo, 'order-stray');
    assert.equal(event.data.status, 'CLOSED');
    assert.deepEqual(event.data.refund, {
      id: refund.id,
      amount: 800,
      reason: 'LATE_PAYMENT',
      status: 'SUCCEEDED',
    });
    assert.deepEqual(books.flagged, []);
  });

  it('refunds a duplicate the statement confirmed as DUPLICATE_PAYMENT without asking the channel', async () => {
    // The channel would deny it: the statement's word is enough.
    const books = new StrayBooks(refundVerdict(), { status: 'PENDING' });
    const { outcome, input } = await strayPaymentThrough(books, { confirmedAmount: 500 });
    assert.equal(outcome, 'SUCCEEDED');
    assert.deepEqual(books.queried, []);
    assert.deepEqual(books.markedPaid, [input.attemptId]);
    assert.deepEqual(
      books.saved.map((r) => [r.reason, r.status, r.amount]),
      [
        ['DUPLICATE_PAYMENT', 'PROCESSING', 500],
        ['DUPLICATE_PAYMENT', 'SUCCEEDED', 500],
      ],
    );
    assert.deepEqual(
      books.events.map((e) => [e.type, e.data.status, e.data.refund?.reason]),
      [['pay_order.refunded', 'SUCCEEDED', 'DUPLICATE_PAYMENT']],
    );
  });

  it('refuses to refund on a statement amount the books do not hold', async () => {
    const books = new StrayBooks(refundVerdict({ amount: 500 }), paid500);
    const { outcome, input } = await strayPaymentThrough(books, { confirmedAmount: 5000 });
    assert.equal(outcome, 'NOT_PAID');
    assert.deepEqual(books.queried, []);
    assert.deepEqual(
      books.flagged.map((f) => f.payOrderId),
      [input.payOrderId],
    );
    assert.deepEqual(books.refundCalls, []);
  });

  it('records a refund the channel refuses as FAILED, flags the order and tells nobody', async () => {
    const books = new StrayBooks(refundVerdict(), paid500, 'reject');
    const { outcome, input } = await strayPaymentThrough(books);
    assert.equal(outcome, 'FAILED');
    assert.deepEqual(books.markedPaid, [input.attemptId]);
    assert.equal(books.refundCalls.length, 1);
    assert.deepEqual(
      books.saved.map((r) => r.status),
      ['PROCESSING', 'FAILED'],
    );
    assert.equal(books.flagged.length, 1);
    assert.equal(books.flagged[0]!.payOrderId, input.payOrderId);
    assert.match(books.flagged[0]!.reason ?? '', /refused refund/);
    assert.deepEqual(books.events, []);
  });
});
