// Pay orders that need an operator: listed (/ops/exceptions), and cleared with a note. A running workflow owns its
// row, so it is told (signal `clearAttention`) and writes the change itself; a workflow that has
// completed (or never ran) writes no more, so the row is updated directly.
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { count, desc, eq } from 'drizzle-orm';
import type { Db } from '../db/client';
import { payOrders } from '../db/schema';
import { DomainError } from '../domain/errors';
import type { Currency } from '../domain/money';
import type { PayStatus } from '../domain/payOrder';
import { clearAttention, paymentWorkflowId } from '../workflows/contracts/payment';
import { recordAudit } from './audit';

/** The pay orders flagged NeedsAttention, most recently changed first (at most 500). */
export async function payOrdersNeedingAttention(db: Db) {
  const rows = await db
    .select()
    .from(payOrders)
    .where(eq(payOrders.needsAttention, true))
    .orderBy(desc(payOrders.updatedAt))
    .limit(500);
  return {
    items: rows.map((r) => ({
      id: r.id,
      merchantId: r.merchantId,
      merchantOrderNo: r.merchantOrderNo,
      status: r.status as PayStatus,
      amount: r.amount,
      currency: r.currency as Currency,
      updatedAt: r.updatedAt.toISOString(),
    })),
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
    .select({ needsAttention: payOrders.needsAttention })
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
        .set({ needsAttention: false, updatedAt: new Date() })
        .where(eq(payOrders.id, payOrderId));
    }
    await recordAudit(tx, {
      operator,
      action: 'pay_order.clear_attention',
      subject: { type: 'pay_order', id: payOrderId },
      before: { needsAttention: true },
      after: { needsAttention: false, writtenBy },
      note,
    });
  });
  return { id: payOrderId, needsAttention: false, cleared: true, writtenBy };
}
