// Starting a merchant refund's workflow from its row: the one place for that rule, used by the
// API (create, and every later read of a refund whose start was lost in a crash) and by the
// safety-net scan (refunds nobody reads).
import { eq } from 'drizzle-orm';
import { channelAttempts, payOrders, refunds } from '../db/schema';
import { formatMinorUnits, type Currency } from '../domain/money';
import { merchantRefundReason } from '../domain/moneyInvariant';
import {
  merchantRefundWorkflow,
  merchantRefundWorkflowId,
  type MerchantRefundInput,
  type RefundRecord,
} from '../workflows/contracts/merchantRefund';
import type { CorrectionDeps } from './corrections';
import { startWorkflow, type WorkflowStart } from './workflowStarts';

/** What a service needs to start refund workflows (refunds, the notification inbox, the safety net). */
export type RefundWorkflowDeps = CorrectionDeps;

/** The reason of refunds merchants ask for; the only ones the API starts a workflow for. */
export { merchantRefundReason };

type RefundRow = typeof refunds.$inferSelect;

export function createRefundWorkflows(deps: RefundWorkflowDeps) {
  const { db, temporal } = deps;

  return {
    /**
     * Starts the refund's workflow unless it is known to exist, then marks the row. A second start
     * is rejected by Temporal. A final status was written by the workflow itself: it has run.
     */
    async ensureRefundWorkflow(this: void, row: RefundRow): Promise<WorkflowStart> {
      if (row.workflowStarted || row.status !== 'PROCESSING') return 'KNOWN';
      const [found] = await db
        .select({ order: payOrders, attempt: channelAttempts })
        .from(payOrders)
        .innerJoin(channelAttempts, eq(channelAttempts.id, row.attemptId))
        .where(eq(payOrders.id, row.payOrderId));
      if (!found) throw new Error(`refund ${row.id} has no pay order or attempt`);
      const { order, attempt } = found;
      const refund: RefundRecord = {
        id: row.id,
        payOrderId: row.payOrderId,
        merchantId: row.merchantId,
        attemptId: row.attemptId,
        amount: row.amount,
        currency: row.currency as Currency,
        reason: merchantRefundReason,
        status: 'PROCESSING',
      };
      const input: MerchantRefundInput = {
        refund,
        channel: attempt.channel,
        outTradeNo: attempt.outTradeNo,
        method: attempt.method,
        merchantOrderNo: order.merchantOrderNo,
        orderAmount: order.amount,
        querySchedule: deps.querySchedule,
        merchantNotifyRetrySeconds: deps.merchantNotifyRetrySeconds,
      };
      const { start } = await startWorkflow(temporal, merchantRefundWorkflow, {
        workflowId: merchantRefundWorkflowId(row.id),
        taskQueue: deps.taskQueue,
        input,
        reuse: 'ONCE',
        staticSummary: `refund ${row.merchantRefundNo}: ${formatMinorUnits(row.amount, row.currency as Currency)} ${row.currency} of ${order.merchantOrderNo}`,
      });
      if (start === 'ALREADY_STARTED') {
        deps.log.debug({ refundId: row.id }, 'refund workflow already started');
      }
      await db.update(refunds).set({ workflowStarted: true }).where(eq(refunds.id, row.id));
      return start;
    },
  };
}

export type RefundWorkflows = ReturnType<typeof createRefundWorkflows>;
