// Side effects of the payment workflow: channel calls and database writes, all safe to retry.
import { ApplicationFailure, log } from '@temporalio/activity';
import { and, eq, lt, sql } from 'drizzle-orm';
import type { ChannelRegistry } from '../channels/registry';
import { channelOrThrow } from '../channels/registry';
import {
  ChannelRejectedError,
  type ChannelOrderRequest,
  type CloseContext,
} from '../channels/types';
import type { Db } from '../db/client';
import { channelAttempts, payOrders, refunds } from '../db/schema';
import type { Currency } from '../domain/money';
import {
  paidAmountOf,
  type Attempt,
  type ExtraPaymentReason,
  type PayOrderState,
} from '../domain/payOrder';
import type { Corrections } from '../services/corrections';
import type { RefundRecord } from '../workflows/contracts/merchantRefund';

export interface PaymentActivityDeps {
  db: Db;
  channels: ChannelRegistry;
  corrections: Corrections;
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

/** One save of the payment workflow: the order's fields and the channel orders that changed. */
export interface PayOrderChange {
  version: number;
  order: Omit<PayOrderState, 'attempts'>;
  attempts: Attempt[];
}

export function createPaymentActivities({ db, channels, corrections }: PaymentActivityDeps) {
  /** Business refusals are final; anything else is thrown as is and retried by Temporal. */
  async function atChannel<T>(
    name: string,
    call: (c: ReturnType<typeof channelOrThrow>) => Promise<T>,
  ) {
    try {
      return await call(channelOrThrow(channels, name));
    } catch (err) {
      if (err instanceof ChannelRejectedError) {
        throw ApplicationFailure.nonRetryable(
          `${err.channelCode}: ${err.message}`,
          'CHANNEL_REJECTED',
        );
      }
      throw err;
    }
  }

  /** The pay order's expiry for one channel order, from the books (its attempt row). */
  async function closeContext({ channel, outTradeNo }: ChannelOrderRef): Promise<CloseContext> {
    const [row] = await db
      .select({ expiresAt: payOrders.expiresAt })
      .from(channelAttempts)
      .innerJoin(payOrders, eq(payOrders.id, channelAttempts.payOrderId))
      .where(and(eq(channelAttempts.channel, channel), eq(channelAttempts.outTradeNo, outTradeNo)));
    return row ? { expiresAt: row.expiresAt.toISOString() } : {};
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
      return atChannel(ref.channel, (c) => c.queryOrder(ref.outTradeNo, ref.method));
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

    /** Records a refund; a final status is never overwritten. */
    async saveRefund(refund: RefundRecord) {
      await db
        .insert(refunds)
        .values(refund)
        .onConflictDoUpdate({
          target: refunds.id,
          set: { status: refund.status, updatedAt: sql`now()` },
          setWhere: sql`${refunds.status} = 'PROCESSING'`,
        });
    },

    /** Decides what a success for a completed pay order workflow is: already in the books, or extra money. */
    async classifyStrayPayment({
      payOrderId,
      attemptId,
    }: {
      payOrderId: string;
      attemptId: string;
    }) {
      const [order] = await db.select().from(payOrders).where(eq(payOrders.id, payOrderId));
      const [attempt] = await db
        .select()
        .from(channelAttempts)
        .where(and(eq(channelAttempts.id, attemptId), eq(channelAttempts.payOrderId, payOrderId)));
      if (!order || !attempt)
        throw ApplicationFailure.nonRetryable(`no attempt ${attemptId}`, 'NOT_FOUND');
      const [refunded] = await db
        .select({ id: refunds.id })
        .from(refunds)
        .where(eq(refunds.attemptId, attemptId))
        .limit(1);
      if (order.paidAttemptId === attemptId || refunded) return { kind: 'accounted' as const };
      const reason: ExtraPaymentReason =
        attempt.status === 'AMOUNT_MISMATCH'
          ? 'AMOUNT_MISMATCH'
          : order.status === 'SUCCEEDED'
            ? 'DUPLICATE_PAYMENT'
            : 'LATE_PAYMENT';
      return {
        kind: 'refund' as const,
        reason,
        // What the payer paid (another amount than asked goes back whole).
        amount: attempt.paidAmount ?? attempt.amount,
        currency: order.currency as Currency,
        merchantId: order.merchantId,
        merchantOrderNo: order.merchantOrderNo,
        orderStatus: order.status,
        orderAmount: order.amount,
      };
    },

    async markAttemptPaid({ attemptId }: { attemptId: string }) {
      await db
        .update(channelAttempts)
        .set({
          status: 'SUCCEEDED',
          paidAt: sql`coalesce(${channelAttempts.paidAt}, now())`,
          updatedAt: sql`now()`,
        })
        .where(eq(channelAttempts.id, attemptId));
    },

    /** Puts the pay order on the operators' exception list (through its workflow while it runs). */
    async flagPayOrder({ payOrderId, reason }: { payOrderId: string; reason?: string }) {
      await corrections.flagPayOrder(payOrderId, reason ?? 'a refund needs an operator');
    },

    /**
     * Writes the workflow's view of the pay order and the channel orders that changed. Each row
     * keeps the newest version written to it, so a retried, older write never overwrites a newer
     * one. Workflows started before the change sent the whole state.
     */
    async savePayOrder(input: PayOrderChange | { version: number; state: PayOrderState }) {
      const { version } = input;
      const order = 'state' in input ? input.state : input.order;
      const attempts = 'state' in input ? input.state.attempts : input.attempts;
      await db.transaction(async (tx) => {
        const paid = order.status === 'SUCCEEDED';
        await tx
          .update(payOrders)
          .set({
            status: order.status,
            needsAttention: order.needsAttention,
            paidAttemptId: order.paidAttemptId ?? null,
            paidAt: paid ? sql`coalesce(${payOrders.paidAt}, now())` : null,
            closedAt:
              order.status === 'CLOSED' ? sql`coalesce(${payOrders.closedAt}, now())` : null,
            version,
            updatedAt: sql`now()`,
          })
          .where(and(eq(payOrders.id, order.id), lt(payOrders.version, version)));
        for (const attempt of attempts) {
          const paidAt = paidAmountOf(attempt) !== undefined;
          const row = {
            status: attempt.status,
            payUrl: attempt.payUrl ?? null,
            channelTradeNo: attempt.channelTradeNo ?? null,
            paidAmount: attempt.paidAmount ?? null,
            paidAt: paidAt ? sql`coalesce(${channelAttempts.paidAt}, now())` : null,
            version,
            updatedAt: sql`now()`,
          };
          await tx
            .insert(channelAttempts)
            .values({
              id: attempt.id,
              payOrderId: order.id,
              channel: attempt.channel,
              method: attempt.method,
              outTradeNo: attempt.outTradeNo,
              amount: attempt.amount,
              currency: order.currency,
              ...row,
              paidAt: paidAt ? sql`now()` : null,
            })
            .onConflictDoUpdate({
              target: channelAttempts.id,
              set: row,
              setWhere: sql`${channelAttempts.version} < ${version}`,
            });
        }
      });
    },
  };
}

export type PaymentActivities = ReturnType<typeof createPaymentActivities>;
