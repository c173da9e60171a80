// Following a refund the channel took (issue 11, defect 3), on a real Temporal dev server with an
// in-memory channel: follow-up queries the channel refuses or rate-limits learn nothing, so the
// refund stays PROCESSING and is asked about again until the channel gives its final answer.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { ApplicationFailure } from '@temporalio/common';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { ChannelUnavailableError } from '../../src/channels/types';
import { newId } from '../../src/domain/ids';
import {
  merchantRefundWorkflow,
  type MerchantRefundInput,
  type RefundRecord,
  type RefundStatus,
} from '../../src/workflows/contracts/merchantRefund';
import { recordMissingHistories } from '../support/history';
import { runWorker, temporalClient } from '../support/workflowHarness';

const recorded: Record<string, string> = {};
after(() => recordMissingHistories(recorded));

/** A channel that takes the refund, then answers its queries with these, one by one. */
class RateLimitedChannel {
  saved: RefundStatus[] = [];
  flagged: string[] = [];
  queries = 0;
  constructor(readonly answers: (RefundStatus | Error)[]) {}

  activities() {
    return {
      refundChannelOrder: async () => 'PROCESSING' as const,
      queryChannelRefund: async () => {
        const answer = this.answers[this.queries++] ?? 'SUCCEEDED';
        if (answer instanceof Error) throw answer;
        return answer;
      },
      saveRefund: async (refund: RefundRecord) => {
        this.saved.push(refund.status);
      },
      flagPayOrder: async ({ payOrderId }: { payOrderId: string }) => {
        this.flagged.push(payOrderId);
      },
      recordMerchantEvent: async () => false,
      deliverMerchantEvent: async () => true,
      giveUpMerchantEvent: async () => {},
    };
  }
}

async function refundThrough(channel: RateLimitedChannel) {
  const refund: RefundRecord = {
    id: newId('rf', Date.now(), Math.random),
    payOrderId: newId('po', Date.now(), Math.random),
    merchantId: 'mch_demo',
    attemptId: newId('att', Date.now(), Math.random),
    amount: 700,
    currency: 'CNY',
    reason: 'MERCHANT_REQUEST',
    status: 'PROCESSING',
  };
  const input: MerchantRefundInput = {
    refund,
    channel: 'wechatpay',
    outTradeNo: 'T-refund-safety',
    merchantOrderNo: 'order-refund-safety',
    orderAmount: 700,
    querySchedule: { delaysSeconds: [1], attentionAfterFailures: 10, rareSeconds: 60 },
    merchantNotifyRetrySeconds: [1],
  };
  return runWorker(channel.activities(), async (taskQueue) => {
    const handle = await temporalClient().workflow.start(merchantRefundWorkflow.type, {
      workflowId: refund.id,
      taskQueue,
      args: [input],
    });
    const status = (await handle.result()) as RefundStatus;
    return { status, refund, history: historyToJSON(await handle.fetchHistory()) };
  });
}

describe('following a refund the channel took', () => {
  it('defect 3: a refund the channel accepted is never recorded FAILED when its follow-up queries are rate-limited or refused', async () => {
    const channel = new RateLimitedChannel([
      // WeChat Pay's 429 FREQUENCY_LIMITED, as the adapter maps it: try later.
      new ChannelUnavailableError(
        'wechatpay GET /v3/refund/domestic/refunds: HTTP 429 FREQUENCY_LIMITED',
      ),
      // A refusal of the query itself, as adapters answered rate limits before the fix.
      ApplicationFailure.nonRetryable('FREQUENCY_LIMITED: 频率超限', 'CHANNEL_REJECTED'),
      'PROCESSING',
      'SUCCEEDED',
    ]);
    const { status, refund, history } = await refundThrough(channel);
    assert.equal(status, 'SUCCEEDED');
    assert.equal(channel.queries, 4);
    assert.deepEqual(channel.saved, ['SUCCEEDED']);
    assert.deepEqual(channel.flagged, []);
    assert.ok(refund.id);
    recorded['merchant-refund-follow-up-rate-limited'] = history;
  });
});
