// Pay orders that need an operator: listed (/ops/exceptions), and cleared with a note. A running workflow owns its
// row, so it is told (signal `clearAttention`) and writes the change itself; a workflow that has
// completed (or never ran) writes no more, so the row is updated directly.
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { and, count, eq, sql, type SQL } from 'drizzle-orm';
import { cursorTime, newestFirst, pageConditions, pageOf } from '../db/books/listPages';
import { channelOfOrder, flagColumns } from '../db/books/payOrders';
import type { Db } from '../db/client';
import { payOrders } from '../db/schema';
import { DomainError } from '../domain/errors';
import type { Currency } from '../domain/money';
import type { PayStatus } from '../domain/payOrder';
import type { ListCursor } from '../domain/schemas';
import { clearAttention, paymentWorkflowId } from '../workflows/contracts/payment';
import { recordAudit } from './audit';

/** Which flagged orders an operator looks at, and which page of them. */
export interface ExceptionQuery {
  merchantId?: string | undefined;
  /** The flag's code (AttentionReason), e.g. DUPLICATE_PAYMENT, CHANNEL_SILENT. */
  code?: string | undefined;
  status?: PayStatus | undefined;
  limit: number;
  /** The previous page's `nextCursor`, decoded: orders flagged before it. */
  cursor?: ListCursor | undefined;
}

/**
 * Flagged orders by when they were flagged (the cursor's time), newest flag first; a row flagged
 * by a worker older than 0012 has no flag time, and its last change stands for it.
 */
const flaggedKeys = {
  createdAt: sql`coalesce(${payOrders.flaggedAt}, ${payOrders.updatedAt})`,
  id: payOrders.id,
};

/**
 * The pay orders flagged NeedsAttention, newest flag first, a page at a time: why, since when, and
 * the channel they were paid on (else last offered on).
 */
export async function payOrdersNeedingAttention(db: Db, query: ExceptionQuery) {
  const conditions: SQL[] = [eq(payOrders.needsAttention, true)];
  if (query.merchantId) conditions.push(eq(payOrders.merchantId, query.merchantId));
  if (query.code) conditions.push(eq(payOrders.attentionCode, query.code));
  if (query.status) conditions.push(eq(payOrders.status, query.status));
  const channel = channelOfOrder(sql`pay_orders.id`, sql`pay_orders.paid_attempt_id`);
  const rows = await db
    .select({ row: payOrders, channel, flaggedAt: cursorTime(flaggedKeys) })
    .from(payOrders)
    .where(and(...conditions, ...pageConditions(flaggedKeys, query)))
    .orderBy(...newestFirst(flaggedKeys))
    .limit(query.limit + 1);
  const { page, nextCursor } = pageOf(rows, query.limit, (r) => ({
    createdAt: r.flaggedAt,
    id: r.row.id,
  }));
  return {
    items: page.map(({ row: r, channel, flaggedAt }) => ({
      id: r.id,
      merchantId: r.merchantId,
      merchantOrderNo: r.merchantOrderNo,
      status: r.status as PayStatus,
      amount: r.amount,
      currency: r.currency as Currency,
      attentionCode: r.attentionCode,
      attentionReason: r.attentionReason,
      flaggedAt,
      channel,
      updatedAt: r.updatedAt.toISOString(),
    })),
    nextCursor,
  };
}

/** How many pay orders are flagged NeedsAttention (the metrics' gauge; a partial index answers). */
export async function countPayOrdersNeedingAttention(db: Db): Promise<number> {
  const [row] = await db
    .select({ flagged: count() })
    .from(payOrders)
    .where(eq(payOrders.needsAttention, true));
  return row?.flagged ?? 0;
}

export interface ClearedAttention {
  id: string;
  needsAttention: false;
  /** False when the order did not need attention: nothing changed and nothing was recorded. */
  cleared: boolean;
  /** Who writes the change: the running workflow, or this request (its workflow has ended). */
  writtenBy: 'WORKFLOW' | 'OPERATOR' | null;
}

export async function clearPayOrderAttention(
  deps: { db: Db; temporal: Client },
  request: { payOrderId: string; note: string; operator: string },
): Promise<ClearedAttention> {
  const { db } = deps;
  const { payOrderId, note, operator } = request;
  const [row] = await db
    .select({
      needsAttention: payOrders.needsAttention,
      attentionCode: payOrders.attentionCode,
      attentionReason: payOrders.attentionReason,
    })
    .from(payOrders)
    .where(eq(payOrders.id, payOrderId));
  if (!row) throw new DomainError('NOT_FOUND', `no pay order ${payOrderId}`);
  if (!row.needsAttention) {
    return { id: payOrderId, needsAttention: false, cleared: false, writtenBy: null };
  }
  let writtenBy: 'WORKFLOW' | 'OPERATOR' = 'WORKFLOW';
  try {
    await deps.temporal.workflow
      .getHandle(paymentWorkflowId(payOrderId))
      .signal(clearAttention, note);
  } catch (err) {
    if (!(err instanceof WorkflowNotFoundError)) throw err;
    writtenBy = 'OPERATOR';
  }
  await db.transaction(async (tx) => {
    if (writtenBy === 'OPERATOR') {
      await tx
        .update(payOrders)
        .set({ needsAttention: false, ...flagColumns(false, undefined), updatedAt: new Date() })
        .where(eq(payOrders.id, payOrderId));
    }
    await recordAudit(tx, {
      operator,
      action: 'pay_order.clear_attention',
      subject: { type: 'pay_order', id: payOrderId },
      before: { needsAttention: true, code: row.attentionCode, reason: row.attentionReason },
      after: { needsAttention: false, writtenBy },
      note,
    });
  });
  return { id: payOrderId, needsAttention: false, cleared: true, writtenBy };
}
