// Corrections go through the workflows, never around them: a channel success is handed to its pay
// order's workflow (or, once that has completed, to a stray-payment refund keyed by the attempt),
// and a pay order is put before an operator through its workflow while it runs.
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { and, eq, inArray, sql } from 'drizzle-orm';
import type { Logger } from 'pino';
import { flagColumns } from '../db/books/payOrders';
import type { Db } from '../db/client';
import { channelAttempts, payOrders } from '../db/schema';
import { openStatuses, type ChannelFact } from '../domain/payOrder';
import type { QuerySchedule } from '../domain/querySchedule';
import type { WorkflowState } from '../domain/safetyNet';
import { attention, notify, paymentWorkflowId } from '../workflows/contracts/payment';
import {
  strayPaymentWorkflow,
  strayPaymentWorkflowId,
  type StrayPaymentInput,
  type StrayPaymentOutcome,
} from '../workflows/contracts/strayPayment';
import type { WorkflowOf } from '../workflows/contracts/contract';
import { startWorkflow } from './workflowStarts';

export interface CorrectionDeps {
  db: Db;
  temporal: Client;
  log: Logger;
  taskQueue: string;
  querySchedule: QuerySchedule;
  merchantNotifyRetrySeconds: number[];
}

/** A channel fact about one of our attempts, however we learnt it (notification, statement). */
export interface ChannelNews {
  payOrderId: string;
  attemptId: string;
  channel: string;
  outTradeNo: string;
  fact: ChannelFact;
  /** The channel's statement books this payment: the stray-payment refund need not ask again. */
  confirmedByStatement?: boolean;
}

/** A channel order whose success is in the books but was never refunded. */
export interface UnrefundedSuccess {
  payOrderId: string;
  attemptId: string;
  channel: string;
  outTradeNo: string;
}

/**
 * SIGNALLED: the running workflow applies its rules. After its workflow completed, a success goes
 * to a stray-payment refund (STRAY_PAYMENT) and anything else changes nothing (WORKFLOW_ENDED).
 */
export type NewsHandling = 'SIGNALLED' | 'STRAY_PAYMENT' | 'WORKFLOW_ENDED';

export function createCorrections(deps: CorrectionDeps) {
  const { db, temporal, log } = deps;

  /** Whether the books show a channel order of the pay order still open. */
  async function hasOpenChannelOrder(payOrderId: string): Promise<boolean> {
    const open = await db
      .select({ id: channelAttempts.id })
      .from(channelAttempts)
      .where(
        and(
          eq(channelAttempts.payOrderId, payOrderId),
          inArray(channelAttempts.status, [...openStatuses]),
        ),
      )
      .limit(1);
    return open.length > 0;
  }

  /**
   * A success after the pay order's workflow completed: refund it in a workflow keyed by the
   * attempt. A later report (a statement, the channel's retry) starts it again when its last run
   * refunded nothing, so a payment the channel had not confirmed then is refunded once it does.
   */
  async function startStrayPayment(input: StrayPaymentInput) {
    const workflowId = strayPaymentWorkflowId(input.attemptId);
    if (!(await lastStrayRunRefundedNothing(workflowId))) return;
    await startWorkflow(temporal, strayPaymentWorkflow, {
      workflowId,
      taskQueue: deps.taskQueue,
      input,
      reuse: 'AFTER_CLOSE',
    });
  }

  /**
   * No run yet, or the last one ended without a refund: the channel did not confirm the payment
   * (NOT_PAID), or the run itself failed. One that is running, found the payment accounted for,
   * or refunded (whatever the channel answered) is not run again; the workflow checks the books
   * first in any case, so a run more never refunds twice.
   */
  async function lastStrayRunRefundedNothing(workflowId: string): Promise<boolean> {
    const handle = temporal.workflow.getHandle<WorkflowOf<typeof strayPaymentWorkflow>>(workflowId);
    try {
      const { status } = await handle.describe();
      if (status.name === 'RUNNING') return false;
      if (status.name !== 'COMPLETED') return true;
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return true;
      throw err;
    }
    const outcome: StrayPaymentOutcome = await handle.result();
    return outcome === 'NOT_PAID';
  }

  return {
    startStrayPayment,

    /** Where a workflow stands: a pay order's (ID = pay order ID) or a stray-payment refund's. */
    async workflowState(workflowId: string): Promise<WorkflowState> {
      try {
        const described = await temporal.workflow.getHandle(workflowId).describe();
        return described.status.name === 'RUNNING' ? 'RUNNING' : 'CLOSED';
      } catch (err) {
        if (err instanceof WorkflowNotFoundError) return 'NONE';
        throw err;
      }
    },

    /**
     * Refunds a success the books hold but no refund answers (found by a safety-net scan), through
     * the stray-payment workflow: it checks the books again and confirms with the channel first.
     */
    async refundUnrefundedSuccess(success: UnrefundedSuccess): Promise<string> {
      await startStrayPayment({
        ...success,
        querySchedule: deps.querySchedule,
        merchantNotifyRetrySeconds: deps.merchantNotifyRetrySeconds,
      });
      return strayPaymentWorkflowId(success.attemptId);
    },

    /** Hands a channel fact to its pay order's workflow; repeats are harmless. */
    async reportChannelFact(news: ChannelNews): Promise<NewsHandling> {
      try {
        await temporal.workflow
          .getHandle(paymentWorkflowId(news.payOrderId))
          .signal(notify, news.fact);
        return 'SIGNALLED';
      } catch (err) {
        if (!(err instanceof WorkflowNotFoundError)) throw err;
      }
      // The workflow finished its late window. Only a success still matters: money to return.
      if (news.fact.status !== 'SUCCEEDED') return 'WORKFLOW_ENDED';
      log.warn(
        { payOrderId: news.payOrderId, outTradeNo: news.outTradeNo },
        'success after the pay order workflow completed; refunding',
      );
      await startStrayPayment({
        payOrderId: news.payOrderId,
        attemptId: news.attemptId,
        channel: news.channel,
        outTradeNo: news.outTradeNo,
        querySchedule: deps.querySchedule,
        merchantNotifyRetrySeconds: deps.merchantNotifyRetrySeconds,
        ...(news.confirmedByStatement && news.fact.amount !== undefined
          ? { confirmedAmount: news.fact.amount }
          : {}),
      });
      return 'STRAY_PAYMENT';
    },

    /**
     * Puts a pay order on the operators' list. A running workflow raises the flag itself (it owns
     * the record and would overwrite ours); a completed one no longer writes, so the books do.
     * `code`: the reason's short name (AttentionReason in the Temporal UI). `passes`: a flag for
     * a channel order open past expiry, which passes once none is open.
     */
    async flagPayOrder(
      payOrderId: string,
      reason: string,
      { code, passes }: { code: string; passes?: 'OPEN_PAST_EXPIRY' | undefined },
    ): Promise<void> {
      log.warn({ payOrderId, reason, code }, 'pay order needs an operator');
      try {
        const handle = temporal.workflow.getHandle(paymentWorkflowId(payOrderId));
        await handle.signal(attention, reason, passes, code);
        return;
      } catch (err) {
        if (!(err instanceof WorkflowNotFoundError)) throw err;
      }
      if (passes && !(await hasOpenChannelOrder(payOrderId))) return;
      await db
        .update(payOrders)
        .set({
          needsAttention: true,
          ...flagColumns(true, { code, reason }),
          updatedAt: sql`now()`,
        })
        .where(eq(payOrders.id, payOrderId));
    },
  };
}

export type Corrections = ReturnType<typeof createCorrections>;
