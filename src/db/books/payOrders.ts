// The books of pay orders as the payment and refund workflows keep them: their saves, the refunds
// they record, and what a stray payment or a channel close needs to know.
import { and, eq, lt, sql } from 'drizzle-orm';
import type { Db } from '../client';
import { channelAttempts, payOrders, refunds } from '../schema';
import { paidAmountOf, type Attempt, type PayOrderState } from '../../domain/payOrder';
import type { StrayPaymentBooks } from '../../domain/strayPayment';
import type { RefundRecord } from '../../workflows/contracts/merchantRefund';

/** The expiry of the pay order a channel order belongs to; undefined for one not in the books. */
export async function expiryOfChannelOrder(
  db: Db,
  { channel, outTradeNo }: { channel: string; outTradeNo: string },
): Promise<Date | undefined> {
  const [row] = await db
    .select({ expiresAt: payOrders.expiresAt })
    .from(channelAttempts)
    .innerJoin(payOrders, eq(payOrders.id, channelAttempts.payOrderId))
    .where(and(eq(channelAttempts.channel, channel), eq(channelAttempts.outTradeNo, outTradeNo)));
  return row?.expiresAt;
}

/**
 * Writes the workflow's view of the pay order and the channel orders that changed. Each row keeps
 * the newest version written to it, so a retried, older write never overwrites a newer one.
 */
export async function savePayOrderVersion(
  db: Db,
  version: number,
  order: Omit<PayOrderState, 'attempts'>,
  attempts: Attempt[],
): Promise<void> {
  await db.transaction(async (tx) => {
    const paid = order.status === 'SUCCEEDED';
    await tx
      .update(payOrders)
      .set({
        status: order.status,
        needsAttention: order.needsAttention,
        paidAttemptId: order.paidAttemptId ?? null,
        paidAt: paid ? sql`coalesce(${payOrders.paidAt}, now())` : null,
        closedAt: order.status === 'CLOSED' ? sql`coalesce(${payOrders.closedAt}, now())` : null,
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
}

/** Records a refund; a final status is never overwritten. */
export async function saveRefund(db: Db, refund: RefundRecord): Promise<void> {
  await db
    .insert(refunds)
    .values(refund)
    .onConflictDoUpdate({
      target: refunds.id,
      set: { status: refund.status, updatedAt: sql`now()` },
      setWhere: sql`${refunds.status} = 'PROCESSING'`,
    });
}

/** A channel order paid after its workflow completed (its first payment time is kept). */
export async function markAttemptPaid(db: Db, attemptId: string): Promise<void> {
  await db
    .update(channelAttempts)
    .set({
      status: 'SUCCEEDED',
      paidAt: sql`coalesce(${channelAttempts.paidAt}, now())`,
      updatedAt: sql`now()`,
    })
    .where(eq(channelAttempts.id, attemptId));
}

/** A channel order and its pay order, and whether any refund names it; undefined if either is missing. */
export async function strayPaymentBooks(
  db: Db,
  { payOrderId, attemptId }: { payOrderId: string; attemptId: string },
): Promise<StrayPaymentBooks | undefined> {
  const [order] = await db.select().from(payOrders).where(eq(payOrders.id, payOrderId));
  const [attempt] = await db
    .select()
    .from(channelAttempts)
    .where(and(eq(channelAttempts.id, attemptId), eq(channelAttempts.payOrderId, payOrderId)));
  if (!order || !attempt) return undefined;
  const [refunded] = await db
    .select({ id: refunds.id })
    .from(refunds)
    .where(eq(refunds.attemptId, attemptId))
    .limit(1);
  return { order, attempt, refunded: refunded !== undefined };
}
