// The payment and refund workflows' calls to the channel adapters, all safe to retry: the
// out_trade_no (an order) or the refund ID (a refund) is the channel's idempotency key.
import { ApplicationFailure, Context, log } from '@temporalio/activity';
import type { ChannelRegistry } from '../channels/registry';
import { channelOrThrow } from '../channels/registry';
import {
  ChannelRejectedError,
  type ChannelOrderRequest,
  type CloseContext,
} from '../channels/types';
import type { Db } from '../db/client';
import { expiryOfChannelOrder, successUnheard } from '../db/books/payOrders';
import type { WorkerMetrics } from '../metrics';
import { paymentWorkflow } from '../workflows/contracts/payment';

export interface ChannelCallDeps {
  db: Db;
  channels: ChannelRegistry;
  metrics: WorkerMetrics;
}

export interface ChannelOrderRef {
  channel: string;
  outTradeNo: string;
  /** The attempt's pay method, where known. */
  method?: string;
}

export interface ChannelRefundRef extends ChannelOrderRef {
  refundNo: string;
}

export function createChannelCallActivities({ db, channels, metrics }: ChannelCallDeps) {
  /** Business refusals are final; anything else is thrown as is and retried by Temporal. */
  async function atChannel<T>(
    name: string,
    call: (c: ReturnType<typeof channelOrThrow>) => Promise<T>,
  ) {
    try {
      return await call(channelOrThrow(channels, name));
    } catch (err) {
      if (err instanceof ChannelRejectedError) {
        throw ApplicationFailure.create({
          message: `${err.channelCode}: ${err.message}`,
          type: 'CHANNEL_REJECTED',
          nonRetryable: true,
          details: [{ declineCode: err.channelCode }],
        });
      }
      throw err;
    }
  }

  /** The pay order's expiry for one channel order, from the books (its attempt row). */
  async function closeContext(ref: ChannelOrderRef): Promise<CloseContext> {
    const expiresAt = await expiryOfChannelOrder(db, ref);
    return expiresAt ? { expiresAt: expiresAt.toISOString() } : {};
  }

  return {
    /** Creates the channel order. The out_trade_no is the channel's idempotency key. */
    async openChannelOrder(input: {
      payOrderId: string;
      attemptId: string;
      channel: string;
      order: ChannelOrderRequest;
    }) {
      log.info('opening channel order', {
        payOrderId: input.payOrderId,
        attemptId: input.attemptId,
        channel: input.channel,
      });
      return atChannel(input.channel, (c) => c.createOrder(input.order));
    },

    /** Closes the channel order; the adapter is told the pay order's expiry (its time_expire). */
    async closeChannelOrder(ref: ChannelOrderRef) {
      const context = await closeContext(ref);
      return atChannel(ref.channel, (c) => c.closeOrder(ref.outTradeNo, context));
    },

    async queryChannelOrder(ref: ChannelOrderRef) {
      const fact = await atChannel(ref.channel, (c) => c.queryOrder(ref.outTradeNo, ref.method));
      // The payment workflow's query is the fallback for lost notifications; the stray-payment
      // refund's query only confirms a success something else brought.
      const byPayment = Context.current().info.workflowType === paymentWorkflow.type;
      if (fact.status === 'SUCCEEDED' && byPayment && (await successUnheard(db, ref))) {
        metrics.anomaliesHarmless.inc({ kind: 'lost_notification_found_by_query' });
      }
      return fact;
    },

    /** Refunds at the channel; the refund ID is the channel's idempotency key, so retries are safe. */
    async refundChannelOrder(ref: ChannelRefundRef & { amount: number }) {
      return atChannel(ref.channel, (c) =>
        c.refund({ outTradeNo: ref.outTradeNo, refundNo: ref.refundNo, amount: ref.amount }),
      );
    },

    async queryChannelRefund(ref: ChannelRefundRef) {
      return atChannel(ref.channel, (c) => c.queryRefund(ref.outTradeNo, ref.refundNo));
    },
  };
}

export type ChannelCallActivities = ReturnType<typeof createChannelCallActivities>;
