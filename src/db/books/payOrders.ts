// The books of pay orders as the payment and refund workflows keep them: their saves, the refunds
// they record, and what a stray payment or a channel close needs to know.
import { and, eq, sql, type AnyColumn, type SQL } from 'drizzle-orm';
import type { Db } from '../client';
import { channelAttempts, channelNotifications, payOrders, refunds } from '../schema';
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

/** A save that settled the pay order: its final status, the channel, and how long paying took. */
export interface Settlement {
  status: 'SUCCEEDED' | 'CLOSED';
  /** The channel that paid it, or the one it was last offered on; `none` when never offered. */
  channel: string;
  /** From creation to the payment recorded, by the database's clock (SUCCEEDED only). */
  paymentSeconds?: number;
}

/**
 * Where a save stands among the workflow's writes: its version and, since payment-shape-6, the
 * workflow time of the task that made it (`taskAt`).
 */
export interface SavePosition {
  version: number;
  taskAt?: Date;
}

/**
 * Whether a save at `at` comes after the one a row holds. Saves run as local activities, inside
 * the workflow task that asks for them, so they reach the books before Temporal has committed
 * that task; a task that is never committed (its worker lost, its completion refused) is run
 * again later, and the run may then write the same versions with other contents. Its writes are
 * therefore ordered by their task's time first: the committed task's write overwrites the lost
 * one's, and a late write of the lost task never overwrites it. Within one task (and for rows or
 * saves without a task time) the version orders them.
 */
function comesAfter(
  row: { version: AnyColumn; savedInTaskAt: AnyColumn },
  { version, taskAt }: SavePosition,
): SQL {
  if (!taskAt) return sql`${row.version} < ${version}`;
  const at = taskAt.toISOString();
  return sql`case when ${row.savedInTaskAt} is null then ${row.version} < ${version}
    else (${row.savedInTaskAt}, ${row.version}) < (${at}::timestamptz, ${version}) end`;
}

/**
 * Writes the workflow's view of the pay order and the channel orders that changed. Each row keeps
 * the newest save written to it (`comesAfter`), so a retried, older write never overwrites a newer
 * one. Answers the settlement when this write is the one that made the order final, so it is told
 * once however the activity is retried.
 */
export async function savePayOrderVersion(
  db: Db,
  at: SavePosition,
  order: Omit<PayOrderState, 'attempts'>,
  attempts: Attempt[],
  attention?: FlagReason,
): Promise<Settlement | undefined> {
  const { version } = at;
  const savedInTaskAt = at.taskAt ?? null;
  return db.transaction(async (tx) => {
    const paid = order.status === 'SUCCEEDED';
    // Locked, so that of two writes racing to settle the order exactly one sees it unsettled.
    const [before] = await tx
      .select({ status: payOrders.status })
      .from(payOrders)
      .where(eq(payOrders.id, order.id))
      .for('update');
    const [written] = await tx
      .update(payOrders)
      .set({
        status: order.status,
        needsAttention: order.needsAttention,
        ...flagColumns(order.needsAttention, attention),
        paidAttemptId: order.paidAttemptId ?? null,
        paidAt: paid ? sql`coalesce(${payOrders.paidAt}, now())` : null,
        closedAt: order.status === 'CLOSED' ? sql`coalesce(${payOrders.closedAt}, now())` : null,
        version,
        savedInTaskAt,
        updatedAt: sql`now()`,
      })
      .where(and(eq(payOrders.id, order.id), comesAfter(payOrders, at)))
      .returning({
        paymentSeconds: sql<
          number | null
        >`extract(epoch from ${payOrders.paidAt} - ${payOrders.createdAt})::float8`,
      });
    for (const attempt of attempts) {
      const paidAt = paidAmountOf(attempt) !== undefined;
      const row = {
        status: attempt.status,
        payUrl: attempt.payUrl ?? null,
        channelTradeNo: attempt.channelTradeNo ?? null,
        paidAmount: attempt.paidAmount ?? null,
        paidAt: paidAt ? sql`coalesce(${channelAttempts.paidAt}, now())` : null,
        version,
        savedInTaskAt,
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
          setWhere: comesAfter(channelAttempts, at),
        });
    }
    const { status } = order;
    const settles = status === 'SUCCEEDED' || status === 'CLOSED';
    if (!written || !before || before.status === status || !settles) return undefined;
    return {
      status,
      channel: await settlingChannel(tx, order.id, order.paidAttemptId),
      ...(paid && written.paymentSeconds !== null
        ? { paymentSeconds: Number(written.paymentSeconds) }
        : {}),
    };
  });
}

/** Why a pay order needs an operator: a short code (AttentionReason) and the reason in words. */
export interface FlagReason {
  code: string;
  reason: string;
}

/**
 * The flag's columns as a write sets them: a cleared flag forgets its reason; a raised one keeps
 * the time it was first raised, and the reason given (else the one it had: workflows recorded
 * before the reason travelled send none).
 */
export function flagColumns(needsAttention: boolean, attention: FlagReason | undefined) {
  if (!needsAttention) return { attentionCode: null, attentionReason: null, flaggedAt: null };
  // An undefined field is left out of the update: the row keeps what it had.
  return {
    attentionCode: attention?.code,
    attentionReason: attention?.reason,
    flaggedAt: sql`coalesce(${payOrders.flaggedAt}, now())`,
  };
}

/**
 * The channel a pay order was paid on, else the one it was last offered on (null: none), as a
 * subquery of the order's ID and paid channel order: values, or the outer query's columns spelt
 * out (`sql\`pay_orders.id\``: drizzle leaves a one-table select's columns unqualified, which
 * the subquery would read as its own).
 */
export function channelOfOrder(payOrderId: SQL | string, paidAttemptId: SQL | string | null) {
  return sql<string | null>`(
    select a.channel from channel_attempts a
    where a.pay_order_id = ${payOrderId}
    order by a.id = ${paidAttemptId} desc nulls last, a.created_at desc
    limit 1)`;
}

/** The channel that settled the order (see channelOfOrder); `none` without any channel order. */
async function settlingChannel(
  db: Db,
  payOrderId: string,
  paidAttemptId: string | undefined,
): Promise<string> {
  const [order] = await db
    .select({ channel: channelOfOrder(payOrderId, paidAttemptId ?? null) })
    .from(payOrders)
    .where(eq(payOrders.id, payOrderId));
  return order?.channel ?? 'none';
}

/**
 * Records a refund; a final status is never overwritten. Answers the final status when this write
 * is the one that made the refund final (never again for a retry).
 */
export async function saveRefund(
  db: Db,
  refund: RefundRecord,
): Promise<Exclude<RefundRecord['status'], 'PROCESSING'> | undefined> {
  const [written] = await db
    .insert(refunds)
    .values(refund)
    .onConflictDoUpdate({
      target: refunds.id,
      set: { status: refund.status, updatedAt: sql`now()` },
      setWhere: sql`${refunds.status} = 'PROCESSING'`,
    })
    .returning({ status: refunds.status });
  const status = written?.status as RefundRecord['status'] | undefined;
  return status === 'PROCESSING' ? undefined : status;
}

/**
 * Whether a success a query learned had gone unheard: the books hold the channel order unpaid and
 * no notification of it ever reached the inbox (lost, or later than our query).
 */
export async function successUnheard(
  db: Db,
  { channel, outTradeNo }: { channel: string; outTradeNo: string },
): Promise<boolean> {
  const [attempt] = await db
    .select({ status: channelAttempts.status })
    .from(channelAttempts)
    .where(and(eq(channelAttempts.channel, channel), eq(channelAttempts.outTradeNo, outTradeNo)));
  if (!attempt || attempt.status === 'SUCCEEDED') return false;
  const [notified] = await db
    .select({ id: channelNotifications.id })
    .from(channelNotifications)
    .where(
      and(
        eq(channelNotifications.channel, channel),
        eq(channelNotifications.outTradeNo, outTradeNo),
      ),
    )
    .limit(1);
  return notified === undefined;
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
