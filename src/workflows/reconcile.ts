// Reconciliation: one channel's statement of one day against our books, and the daily run the
// Schedule starts (contracts: ./contracts/reconcileDay.ts, ./contracts/dailyReconciliation.ts).
import {
  ApplicationFailure,
  executeChild,
  log,
  proxyActivities,
  workflowInfo,
} from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import type { ReconcileActivities } from '../activities/reconcile';
import { dayBefore, dayIn, type ReconciliationReport } from '../domain/reconciliation';
import type {
  DailyReconciliationInput,
  DailyReconciliationResult,
} from './contracts/dailyReconciliation';
import { reconcileDayWorkflowId, type ReconcileInput } from './contracts/reconcileDay';

// Statements can be large and channels slow to serve them: retry, but give up within hours. A
// statement of a million lines takes minutes to download and to match: those two activities
// heartbeat, so a dead worker's attempt is retried after the heartbeat timeout, not the hour.
const statements = proxyActivities<ReconcileActivities>({
  startToCloseTimeout: '1h',
  heartbeatTimeout: '2m',
  retry: { initialInterval: '10s', backoffCoefficient: 2, maximumAttempts: 6 },
});
const books = proxyActivities<ReconcileActivities>({
  startToCloseTimeout: '5m',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1m' },
});
const matching = proxyActivities<ReconcileActivities>({
  startToCloseTimeout: '1h',
  heartbeatTimeout: '2m',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1m' },
});

export async function reconcileDay(input: ReconcileInput): Promise<ReconciliationReport> {
  let statement: { statementId: string; lines: number };
  try {
    statement = await statements.fetchStatement(input);
  } catch (err) {
    const reason = `the ${input.channel} statement of ${input.day} could not be fetched: ${String(err)}`;
    await books.failReconciliation({ ...input, reason });
    throw ApplicationFailure.nonRetryable(reason, 'STATEMENT_UNAVAILABLE');
  }
  const comparison = await matching.compareStatement({
    ...input,
    statementId: statement.statementId,
  });
  for (const missed of comparison.missedPayments) {
    // One activity per correction, so the history shows each one by its channel order.
    await books.settleMissedPayment.executeWithOptions(
      {
        startToCloseTimeout: '1m',
        retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1m' },
        summary: `settle ${missed.outTradeNo} of ${missed.payOrderId}`,
      },
      [missed],
    );
  }
  for (const item of comparison.forOperators) await books.flagForOperator(item);
  const report = await books.finishReconciliation({
    ...input,
    statementId: statement.statementId,
    comparison,
  });
  log.info('reconciliation finished', {
    channel: input.channel,
    day: input.day,
    forOperators: report.forOperators.length,
  });
  return report;
}

/** Started by the daily Schedule: reconciles yesterday on every channel, one after the other. */
export async function dailyReconciliation(
  input: DailyReconciliationInput,
): Promise<DailyReconciliationResult> {
  const day = dayBefore(dayIn(input.timeZone, new Date(Date.now())));
  const result: DailyReconciliationResult = { day, channels: {} };
  for (const channel of input.channels) {
    const ref = { channel, day };
    try {
      const report = await executeChild(reconcileDay, {
        workflowId: reconcileDayWorkflowId(workflowInfo().taskQueue, ref),
        args: [ref],
      });
      result.channels[channel] = {
        status: 'COMPLETED',
        forOperators: report.forOperators.length,
        autoCorrected: report.autoCorrected.length,
      };
    } catch (err) {
      // One channel's outage must not keep the others from being reconciled.
      const running = err instanceof WorkflowExecutionAlreadyStartedError;
      result.channels[channel] = {
        status: running ? 'ALREADY_RUNNING' : 'FAILED',
        reason: String(err),
      };
    }
  }
  return result;
}
