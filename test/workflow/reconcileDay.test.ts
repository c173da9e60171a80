// The reconcileDay workflow on a real Temporal dev server with stubbed statement and books: every
// payment the channel booked and we missed is settled through its own correction, every difference
// only an operator can decide is flagged, and the run's report is what the books recorded; a
// statement that cannot be fetched fails the run and records why.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { Comparison, MissedPayment, ReconcileRef } from '../../src/activities/reconcile';
import type { ReconciliationReport } from '../../src/domain/reconciliation';
import {
  reconcileDayWorkflow,
  reconcileDayWorkflowId,
  type ReconcileInput,
} from '../../src/workflows/contracts/reconcileDay';
import { runWorker, temporalClient } from '../support/workflowHarness';

/** The books of one reconciliation run: what the comparison finds, and every call made. */
class ReconcileBooks {
  calls: string[] = [];
  compared: (ReconcileRef & { statementId: string })[] = [];
  settled: MissedPayment[] = [];
  flagged: { payOrderId: string; reason: string }[] = [];
  finished: (ReconcileRef & { statementId: string; comparison: Comparison })[] = [];
  failed: (ReconcileRef & { reason: string })[] = [];

  constructor(
    readonly comparison: Comparison,
    readonly statement: 'available' | 'unavailable' = 'available',
  ) {}

  activities() {
    return {
      fetchStatement: async ({ channel, day }: ReconcileRef) => {
        this.calls.push('fetchStatement');
        if (this.statement === 'unavailable') {
          // Not retried, so the test does not wait out the statement's retry schedule.
          throw ApplicationFailure.nonRetryable('statement download refused', 'CHANNEL_REJECTED');
        }
        return { statementId: `st-${channel}-${day}`, lines: this.comparison.statementLines };
      },
      compareStatement: async (ref: ReconcileRef & { statementId: string }) => {
        this.calls.push('compareStatement');
        this.compared.push(ref);
        return this.comparison;
      },
      settleMissedPayment: async (missed: MissedPayment) => {
        this.calls.push(`settleMissedPayment ${missed.outTradeNo}`);
        this.settled.push(missed);
        return 'SIGNALLED' as const;
      },
      flagForOperator: async (item: { payOrderId: string; reason: string }) => {
        this.calls.push(`flagForOperator ${item.payOrderId}`);
        this.flagged.push(item);
      },
      finishReconciliation: async (
        run: ReconcileRef & { statementId: string; comparison: Comparison },
      ): Promise<ReconciliationReport> => {
        this.calls.push('finishReconciliation');
        this.finished.push(run);
        return reportOf(run);
      },
      failReconciliation: async (run: ReconcileRef & { reason: string }) => {
        this.calls.push('failReconciliation');
        this.failed.push(run);
      },
    };
  }
}

/** What the books would answer: the comparison's findings, as a report. */
function reportOf({
  channel,
  day,
  statementId,
  comparison,
}: ReconcileRef & { statementId: string; comparison: Comparison }): ReconciliationReport {
  const item = (kind: 'MISSED_PAYMENT' | 'AMOUNT_MISMATCH', payOrderId: string) => ({
    id: `diff-${payOrderId}`,
    kind,
    reference: payOrderId,
    payOrderId,
    resolution: kind === 'MISSED_PAYMENT' ? ('CORRECTING' as const) : ('OPS' as const),
    urgent: kind !== 'MISSED_PAYMENT',
    action: kind,
  });
  return {
    channel,
    day,
    statementId,
    statementLines: comparison.statementLines,
    run: 1,
    matched: comparison.matched,
    classes: {},
    autoCorrected: comparison.missedPayments.map((m) => item('MISSED_PAYMENT', m.payOrderId)),
    forOperators: comparison.forOperators.map((f) => item('AMOUNT_MISMATCH', f.payOrderId)),
    held: [],
    holdsSettled: [],
    settledSinceLastRun: comparison.settledSinceLastRun,
  };
}

function missed(n: number): MissedPayment {
  return {
    differenceId: `diff-missed-${n}`,
    channel: 'wechatpay',
    payOrderId: `po_missed_${n}`,
    attemptId: `att_missed_${n}`,
    outTradeNo: `T-missed-${n}`,
    channelTradeNo: `420000${n}`,
    amount: 100 * n,
  };
}

function comparison(overrides: Partial<Comparison> = {}): Comparison {
  return {
    statementLines: 5,
    matched: { payments: 2, refunds: 0, amounts: { CNY: 300 } },
    missedPayments: [],
    forOperators: [],
    settledSinceLastRun: 0,
    holdsSettled: [],
    ...overrides,
  };
}

async function reconcile(books: ReconcileBooks, day: string) {
  const input: ReconcileInput = { channel: 'wechatpay', day };
  return runWorker(books.activities(), async (taskQueue) => {
    try {
      const report = (await temporalClient().workflow.execute(reconcileDayWorkflow.type, {
        workflowId: reconcileDayWorkflowId(taskQueue, input),
        taskQueue,
        args: [input],
      })) as ReconciliationReport;
      return { input, report, failure: undefined };
    } catch (err) {
      assert.ok(err instanceof WorkflowFailedError, String(err));
      return { input, report: undefined, failure: err.cause as ApplicationFailure };
    }
  });
}

describe('reconcileDay workflow', () => {
  it('settles each missed payment, flags what operators decide, then finishes with the books', async () => {
    const found = comparison({
      missedPayments: [missed(1), missed(2)],
      forOperators: [
        { payOrderId: 'po_mismatch', reason: 'the channel booked 90 for an order of 100' },
        { payOrderId: 'po_unbooked', reason: 'we hold it paid, the channel did not book it' },
      ],
      settledSinceLastRun: 1,
    });
    const books = new ReconcileBooks(found);
    const { input, report, failure } = await reconcile(books, '2026-11-30');
    assert.equal(failure, undefined);

    assert.deepEqual(books.calls, [
      'fetchStatement',
      'compareStatement',
      'settleMissedPayment T-missed-1',
      'settleMissedPayment T-missed-2',
      'flagForOperator po_mismatch',
      'flagForOperator po_unbooked',
      'finishReconciliation',
    ]);
    const statementId = 'st-wechatpay-2026-11-30';
    assert.deepEqual(books.compared, [{ ...input, statementId }]);
    assert.deepEqual(books.settled, [missed(1), missed(2)]);
    assert.deepEqual(books.flagged, found.forOperators);
    assert.deepEqual(books.finished, [{ ...input, statementId, comparison: found }]);
    assert.deepEqual(books.failed, []);

    // The run's result is the report the books wrote.
    assert.deepEqual(report, reportOf({ ...input, statementId, comparison: found }));
    assert.deepEqual(
      report.autoCorrected.map((i) => i.payOrderId),
      ['po_missed_1', 'po_missed_2'],
    );
    assert.deepEqual(
      report.forOperators.map((i) => i.payOrderId),
      ['po_mismatch', 'po_unbooked'],
    );
  });

  it('settles nothing and flags nobody on a day without differences', async () => {
    const books = new ReconcileBooks(comparison());
    const { report } = await reconcile(books, '2026-11-29');
    assert.deepEqual(books.calls, ['fetchStatement', 'compareStatement', 'finishReconciliation']);
    assert.equal(report!.statementLines, 5);
    assert.deepEqual(report!.matched, { payments: 2, refunds: 0, amounts: { CNY: 300 } });
    assert.deepEqual(report!.autoCorrected, []);
    assert.deepEqual(report!.forOperators, []);
  });

  it('records a failed run and fails with STATEMENT_UNAVAILABLE when the statement cannot be fetched', async () => {
    const books = new ReconcileBooks(comparison({ missedPayments: [missed(1)] }), 'unavailable');
    const { input, report, failure } = await reconcile(books, '2026-11-28');
    assert.equal(report, undefined);
    assert.equal(failure?.type, 'STATEMENT_UNAVAILABLE');
    assert.equal(failure?.nonRetryable, true);
    assert.deepEqual(books.calls, ['fetchStatement', 'failReconciliation']);
    assert.equal(books.failed.length, 1);
    assert.equal(books.failed[0]!.channel, input.channel);
    assert.equal(books.failed[0]!.day, input.day);
    assert.match(books.failed[0]!.reason, /wechatpay statement of 2026-11-28 could not be fetched/);
    assert.deepEqual(books.settled, []);
    assert.deepEqual(books.flagged, []);
  });
});
