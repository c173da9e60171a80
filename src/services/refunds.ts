// Refunds as merchants ask for them: create (idempotent by merchant refund no, never above the
// paid amount), read. Each refund is then carried out by its own `merchantRefund` workflow.
import { and, eq, ne, sql, type SQL } from 'drizzle-orm';
import {
  cursorTime,
  newestFirst,
  pageConditions,
  pageOf,
  type PageQuery,
} from '../db/books/listPages';
import { channelAttempts, payOrders, refunds } from '../db/schema';
import { DomainError } from '../domain/errors';
import { newId } from '../domain/ids';
import { merchantRefundReason } from '../domain/moneyInvariant';
import type { RefundStatus } from '../workflows/contracts/merchantRefund';
import { createRefundWorkflows, type RefundWorkflowDeps } from './refundWorkflows';

export { merchantRefundReason, type RefundWorkflowDeps };

type RefundRow = typeof refunds.$inferSelect;

/** Which of a merchant's refunds to list, and where the page starts. */
export interface RefundListQuery extends PageQuery {
  payOrderId?: string | undefined;
  status?: RefundStatus | undefined;
  reason?: string | undefined;
  merchantRefundNo?: string | undefined;
}

/** A merchant's refund request, as the API has validated it (src/api/schemas/refunds.ts). */
export interface NewRefund {
  payOrderId: string;
  merchantRefundNo: string;
  amount: number;
  reason?: string | undefined;
}

export function createRefundService(deps: RefundWorkflowDeps) {
  const { db } = deps;

  function view(row: RefundRow) {
    return {
      id: row.id,
      payOrderId: row.payOrderId,
      merchantRefundNo: row.merchantRefundNo,
      amount: row.amount,
      currency: row.currency,
      /** A merchant refund's own words (stored as `note`), else why paycenter refunded (LATE_PAYMENT, ...). */
      reason: row.reason === merchantRefundReason ? row.note : row.reason,
      status: row.status as RefundStatus,
      createdAt: row.createdAt.toISOString(),
    };
  }

  async function findByMerchantRefundNo(merchantId: string, merchantRefundNo: string) {
    const [row] = await db
      .select()
      .from(refunds)
      .where(
        and(eq(refunds.merchantId, merchantId), eq(refunds.merchantRefundNo, merchantRefundNo)),
      );
    return row;
  }

  /** The same request again (same order, amount and reason) answers the stored refund. */
  function sameRequest(row: RefundRow, request: NewRefund): void {
    const fields = [
      ...(row.payOrderId !== request.payOrderId
        ? [{ field: 'body.payOrderId', message: `the stored refund is for ${row.payOrderId}` }]
        : []),
      ...(row.amount !== request.amount
        ? [{ field: 'body.amount', message: `the stored refund has ${row.amount}` }]
        : []),
      ...((row.note ?? undefined) !== request.reason
        ? [{ field: 'body.reason', message: 'the stored refund has another reason' }]
        : []),
    ];
    if (fields.length > 0) {
      throw new DomainError(
        'REFUND_CONFLICT',
        `merchantRefundNo ${request.merchantRefundNo} already has a refund with another body`,
        fields,
      );
    }
  }

  /**
   * Inserts the refund unless it would refund more than was paid. One transaction that first
   * locks the pay order row, so concurrent refunds of one order are checked one after another.
   * Answers the stored refund instead when the merchant refund no is already taken.
   */
  async function insertChecked(merchantId: string, request: NewRefund) {
    return db.transaction(async (tx) => {
      const [order] = await tx
        .select()
        .from(payOrders)
        .where(and(eq(payOrders.id, request.payOrderId), eq(payOrders.merchantId, merchantId)))
        .for('update');
      // Another merchant's order answers exactly like a missing one.
      if (!order) throw new DomainError('NOT_FOUND', `no pay order ${request.payOrderId}`);

      const [existing] = await tx
        .select()
        .from(refunds)
        .where(
          and(
            eq(refunds.merchantId, merchantId),
            eq(refunds.merchantRefundNo, request.merchantRefundNo),
          ),
        );
      if (existing) return { inserted: false, row: existing };

      const paidAttemptId = order.paidAttemptId;
      if (order.status !== 'SUCCEEDED' || !paidAttemptId) {
        throw new DomainError(
          'ORDER_NOT_PAID',
          `pay order ${order.id} is ${order.status}, not paid`,
        );
      }
      const [attempt] = await tx
        .select()
        .from(channelAttempts)
        .where(eq(channelAttempts.id, paidAttemptId));
      if (!attempt) throw new Error(`paid attempt ${paidAttemptId} of ${order.id} is missing`);

      const [taken] = await tx
        .select({ total: sql<string>`coalesce(sum(${refunds.amount}), 0)` })
        .from(refunds)
        .where(
          and(
            eq(refunds.payOrderId, order.id),
            eq(refunds.attemptId, paidAttemptId),
            ne(refunds.status, 'FAILED'),
          ),
        );
      const refunded = Number(taken?.total ?? 0);
      if (refunded + request.amount > attempt.amount) {
        throw new DomainError(
          'REFUND_EXCEEDS_PAYMENT',
          `refunding ${request.amount} would take the refunds of ${order.id} above the paid ${attempt.amount} (${refunded} already refunded or under way)`,
          [{ field: 'body.amount', message: `must be at most ${attempt.amount - refunded}` }],
        );
      }

      const [row] = await tx
        .insert(refunds)
        .values({
          id: newId('rf', Date.now(), Math.random),
          payOrderId: order.id,
          merchantId,
          attemptId: paidAttemptId,
          merchantRefundNo: request.merchantRefundNo,
          amount: request.amount,
          currency: order.currency,
          reason: merchantRefundReason,
          note: request.reason ?? null,
          status: 'PROCESSING',
        })
        // The same merchant refund no for another of the merchant's orders, at the same moment.
        .onConflictDoNothing({ target: [refunds.merchantId, refunds.merchantRefundNo] })
        .returning();
      return { inserted: !!row, row };
    });
  }

  /** Starts the refund's workflow unless it is known to exist (src/services/refundWorkflows.ts). */
  const { ensureRefundWorkflow: ensureWorkflow } = createRefundWorkflows(deps);

  /**
   * A refund whose workflow start was lost (a crash after the insert) heals when read; if
   * Temporal is down the read still answers, and the safety net starts it later.
   */
  async function healedView(row: RefundRow) {
    await ensureWorkflow(row).catch((err: unknown) =>
      deps.log.warn({ err, refundId: row.id }, 'could not start the refund workflow'),
    );
    return view(row);
  }

  return {
    /** Answers `created: false` with the stored refund when the same request came before. */
    async create(merchantId: string, request: NewRefund) {
      const { inserted, row: locked } = await insertChecked(merchantId, request);
      const row = locked ?? (await findByMerchantRefundNo(merchantId, request.merchantRefundNo));
      if (!row) throw new Error('refund vanished after conflict');
      if (!inserted) sameRequest(row, request);
      await ensureWorkflow(row);
      deps.log.info({ refundId: row.id, created: inserted }, 'refund created');
      return { created: inserted, refund: view(row) };
    },

    async get(merchantId: string, id: string) {
      const [row] = await db
        .select()
        .from(refunds)
        .where(and(eq(refunds.id, id), eq(refunds.merchantId, merchantId)));
      // Another merchant's refund answers exactly like a missing one.
      if (!row) throw new DomainError('NOT_FOUND', `no refund ${id}`);
      return healedView(row);
    },

    /**
     * The merchant's refunds, newest first, a page at a time (src/db/books/listPages.ts). A
     * listing heals nothing: reading one refund does, and the safety net starts what is missing.
     */
    async list(merchantId: string, query: RefundListQuery) {
      const keys = { createdAt: refunds.createdAt, id: refunds.id };
      const conditions: SQL[] = [eq(refunds.merchantId, merchantId)];
      if (query.payOrderId) conditions.push(eq(refunds.payOrderId, query.payOrderId));
      if (query.status) conditions.push(eq(refunds.status, query.status));
      if (query.reason) conditions.push(eq(refunds.reason, query.reason));
      if (query.merchantRefundNo) {
        conditions.push(eq(refunds.merchantRefundNo, query.merchantRefundNo));
      }
      const rows = await db
        .select({ row: refunds, createdAt: cursorTime(keys) })
        .from(refunds)
        .where(and(...conditions, ...pageConditions(keys, query)))
        .orderBy(...newestFirst(keys))
        .limit(query.limit + 1);
      const { page, nextCursor } = pageOf(rows, query.limit, (r) => ({
        createdAt: r.createdAt,
        id: r.row.id,
      }));
      return { items: page.map((r) => view(r.row)), nextCursor };
    },
  };
}

export type RefundService = ReturnType<typeof createRefundService>;
