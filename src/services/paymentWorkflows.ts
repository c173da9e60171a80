// Starting a pay order's workflow from its row: the one place for that rule, used by the API
// (create, and every later touch of an order whose start was lost in a crash) and by the
// safety-net scan (orders nobody touches).
import type { Client } from '@temporalio/client';
import { eq } from 'drizzle-orm';
import type { Logger } from 'pino';
import type { Db } from '../db/client';
import { payOrders } from '../db/schema';
import { formatMinorUnits, type Currency } from '../domain/money';
import type { QuerySchedule } from '../domain/querySchedule';
import {
  paymentWorkflow,
  paymentWorkflowId,
  searchAttributes,
  type PaymentInput,
} from '../workflows/contracts/payment';
import { startWorkflow, type WorkflowStart } from './workflowStarts';

export interface PaymentWorkflowDeps {
  db: Db;
  temporal: Client;
  log: Logger;
  taskQueue: string;
  webhookBaseUrl: string;
  lateWindowSeconds: number;
  querySchedule: QuerySchedule;
  merchantNotifyRetrySeconds: number[];
  syncPayWaitSeconds: number;
  maxChannelOrders: number;
  continueAsNewAfterEvents: number;
}

type PayOrderRow = typeof payOrders.$inferSelect;

export function createPaymentWorkflows(deps: PaymentWorkflowDeps) {
  const { db, temporal } = deps;

  return {
    /**
     * Starts the order's workflow unless it is known to exist, then marks the row. A second start
     * is rejected by Temporal. Only the workflow moves an order out of CREATED, so any other status
     * means it ran: it is never started again (its run may be past retention).
     */
    async ensurePaymentWorkflow(this: void, row: PayOrderRow): Promise<WorkflowStart> {
      if (row.workflowStarted || row.status !== 'CREATED') return 'KNOWN';
      const input: PaymentInput = {
        payOrderId: row.id,
        merchantId: row.merchantId,
        merchantOrderNo: row.merchantOrderNo,
        amount: row.amount,
        currency: row.currency as Currency,
        subject: row.subject,
        expiresAt: row.expiresAt.toISOString(),
        webhookBaseUrl: deps.webhookBaseUrl,
        lateWindowSeconds: deps.lateWindowSeconds,
        querySchedule: deps.querySchedule,
        merchantNotifyRetrySeconds: deps.merchantNotifyRetrySeconds,
        syncPayWaitSeconds: deps.syncPayWaitSeconds,
        maxChannelOrders: deps.maxChannelOrders,
        continueAsNewAfterEvents: deps.continueAsNewAfterEvents,
        ...(row.returnUrl ? { returnUrl: row.returnUrl } : {}),
      };
      const { start } = await startWorkflow(temporal, paymentWorkflow, {
        workflowId: paymentWorkflowId(row.id),
        taskQueue: deps.taskQueue,
        input,
        reuse: 'ONCE',
        typedSearchAttributes: [
          { key: searchAttributes.merchantId, value: row.merchantId },
          { key: searchAttributes.merchantOrderNo, value: row.merchantOrderNo },
          { key: searchAttributes.payStatus, value: 'CREATED' },
          { key: searchAttributes.needsAttention, value: false },
          { key: searchAttributes.amount, value: row.amount },
          { key: searchAttributes.expiresAt, value: row.expiresAt },
        ],
        ...paymentMetadata(row),
      });
      if (start === 'ALREADY_STARTED') {
        deps.log.debug({ payOrderId: row.id }, 'payment workflow already started');
      }
      await db.update(payOrders).set({ workflowStarted: true }).where(eq(payOrders.id, row.id));
      return start;
    },
  };
}

export type PaymentWorkflows = ReturnType<typeof createPaymentWorkflows>;

/**
 * What the Temporal UI shows of a payment before anything happens: a one-line summary and the
 * order in Markdown. The workflow keeps its current details (src/workflows/payment/details.ts).
 */
export function paymentMetadata(row: PayOrderRow): {
  staticSummary: string;
  staticDetails: string;
} {
  const money = `${formatMinorUnits(row.amount, row.currency as Currency)} ${row.currency}`;
  return {
    staticSummary: `Pay ${money} · ${row.merchantId} · ${row.merchantOrderNo}`,
    staticDetails: [
      `**${money}** for *${markdownText(row.subject)}*`,
      '',
      `- merchant \`${row.merchantId}\`, order \`${row.merchantOrderNo}\``,
      `- pay order \`${row.id}\``,
      `- expires ${row.expiresAt.toISOString()}`,
    ].join('\n'),
  };
}

/** Text a merchant wrote, with Markdown's own characters escaped. */
function markdownText(text: string): string {
  return text.replace(/[\\`*_{}[\]()#+\-.!|<>]/g, (c) => `\\${c}`);
}
