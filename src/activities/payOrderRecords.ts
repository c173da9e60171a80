// The payment and refund workflows' records: their saves of the pay order, the refunds they make,
// a stray payment marked paid, and a pay order put before the operators. All safe to retry.
import type { Db } from '../db/client';
import * as payOrderBooks from '../db/books/payOrders';
import type { FlagReason } from '../db/books/payOrders';
import type { Attempt, PayOrderState } from '../domain/payOrder';
import { refundedAnomaly, type WorkerMetrics } from '../metrics';
import type { Corrections } from '../services/corrections';
import type { RefundRecord } from '../workflows/contracts/merchantRefund';

export interface PayOrderRecordDeps {
  db: Db;
  corrections: Corrections;
  metrics: WorkerMetrics;
}

/** One save of the payment workflow: the order's fields and the channel orders that changed. */
export interface PayOrderChange {
  version: number;
  order: Omit<PayOrderState, 'attempts'>;
  attempts: Attempt[];
  /** Why the order needs an operator, while it does (absent from runs recorded before 0012). */
  attention?: FlagReason;
  /**
   * The workflow time (epoch ms) of the task that made the save, since payment-shape-6 (its saves
   * are local activities): orders the writes of a task Temporal never committed before those of
   * the task run again in its place (savePayOrderVersion).
   */
  taskAt?: number;
}

export function createPayOrderRecordActivities({ db, corrections, metrics }: PayOrderRecordDeps) {
  return {
    /** Records a refund; a final status is never overwritten. */
    async saveRefund(refund: RefundRecord) {
      const settled = await payOrderBooks.saveRefund(db, refund);
      if (!settled) return;
      metrics.refundsSettled.inc({ status: settled, reason: refund.reason });
      const anomaly = settled === 'SUCCEEDED' ? refundedAnomaly(refund.reason) : undefined;
      if (anomaly) metrics.anomaliesHarmless.inc({ kind: anomaly });
    },

    async markAttemptPaid({ attemptId }: { attemptId: string }) {
      await payOrderBooks.markAttemptPaid(db, attemptId);
    },

    /** Puts the pay order on the operators' exception list (through its workflow while it runs). */
    async flagPayOrder({
      payOrderId,
      reason,
      code,
    }: {
      payOrderId: string;
      reason?: string;
      /** Absent in the inputs of workflows recorded before it (a refund's flags). */
      code?: string;
    }) {
      await corrections.flagPayOrder(payOrderId, reason ?? 'a refund needs an operator', {
        code: code ?? 'REFUND_REFUSED',
      });
    },

    /**
     * Writes the workflow's view of the pay order and the channel orders that changed; an older
     * version never overwrites a newer one. Workflows started before the change sent the whole state.
     */
    async savePayOrder(input: PayOrderChange | { version: number; state: PayOrderState }) {
      const order = 'state' in input ? input.state : input.order;
      const attempts = 'state' in input ? input.state.attempts : input.attempts;
      const attention = 'state' in input ? undefined : input.attention;
      const taskAt =
        'state' in input || input.taskAt === undefined ? {} : { taskAt: new Date(input.taskAt) };
      const settled = await payOrderBooks.savePayOrderVersion(
        db,
        { version: input.version, ...taskAt },
        order,
        attempts,
        attention,
      );
      if (!settled) return;
      metrics.payOrdersSettled.inc({ status: settled.status, channel: settled.channel });
      if (settled.paymentSeconds !== undefined) {
        metrics.paymentSeconds.observe({ channel: settled.channel }, settled.paymentSeconds);
      }
    },
  };
}

export type PayOrderRecordActivities = ReturnType<typeof createPayOrderRecordActivities>;
