// The safetyNetScan workflow on a real Temporal dev server with stubbed checks: every check runs,
// in order, at one scan time; what the checks did becomes the report (pay orders corrected or
// flagged, open findings); a full scan also sweeps expired idempotency keys, one merchant's scan
// does not; a check or a sweep that fails is reported and the scan goes on.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ApplicationFailure } from '@temporalio/common';
import type { CheckRun } from '../../src/activities/safetyNet';
import {
  emptyCheckReport,
  safetyNetChecks,
  type CheckReport,
  type SafetyNetAction,
  type SafetyNetCheck,
  type SafetyNetReport,
} from '../../src/domain/safetyNet';
import {
  safetyNetScanWorkflow,
  safetyNetScanWorkflowId,
  type SafetyNetInput,
} from '../../src/workflows/contracts/safetyNetScan';
import { runWorker, temporalClient } from '../support/workflowHarness';

/** The books as the checks see them: what each check finds and does, and every call made. */
class ScannedBooks {
  runs: CheckRun[] = [];
  sweeps = 0;
  constructor(
    readonly findings: Partial<Record<SafetyNetCheck, SafetyNetAction[]>>,
    readonly openFindings: number,
    readonly failing: { checks?: SafetyNetCheck[]; sweep?: boolean } = {},
  ) {}

  activities() {
    return {
      runSafetyNetCheck: async (run: CheckRun): Promise<CheckReport> => {
        this.runs.push(run);
        if (this.failing.checks?.includes(run.check)) {
          // Not retried, so the test does not wait out the check's retries.
          throw ApplicationFailure.nonRetryable(`${run.check} query timed out`, 'DB_TIMEOUT');
        }
        const actions = this.findings[run.check] ?? [];
        return {
          ...emptyCheckReport(run.check),
          found: actions.length,
          acted: actions.length,
          actions,
        };
      },
      countOpenSafetyNetFindings: async () => this.openFindings,
      sweepExpiredIdempotencyKeys: async () => {
        this.sweeps++;
        if (this.failing.sweep) throw ApplicationFailure.nonRetryable('lock timeout', 'DB_TIMEOUT');
        return 7;
      },
    };
  }
}

function action(
  check: SafetyNetCheck,
  payOrderId: string,
  kind: SafetyNetAction['action'],
): SafetyNetAction {
  return { check, subject: `${check}:${payOrderId}`, payOrderId, action: kind, reason: check };
}

const scanInput: SafetyNetInput = {
  graceSeconds: 60,
  refundFinalWithinSeconds: 3600,
  merchantNotifyGiveUpSeconds: 86_400,
  moneyLookbackSeconds: 3600,
};

async function scan(books: ScannedBooks, input: SafetyNetInput = scanInput) {
  return runWorker(books.activities(), (taskQueue) =>
    temporalClient().workflow.execute(safetyNetScanWorkflow.type, {
      workflowId: safetyNetScanWorkflowId(taskQueue, crypto.randomUUID()),
      taskQueue,
      args: [input],
    }),
  ) as Promise<SafetyNetReport>;
}

describe('safetyNetScan workflow', () => {
  it('runs every check at one scan time and reports what they corrected and flagged', async () => {
    const stray = action('EXTRA_SUCCESS_UNREFUNDED', 'po_stray', 'STRAY_PAYMENT');
    const started = action('WORKFLOW_NOT_STARTED', 'po_lost', 'WORKFLOW_STARTED');
    const openPastExpiry = action('ATTEMPT_OPEN_PAST_EXPIRY', 'po_open', 'FLAGGED');
    // One pay order flagged by two checks is one pay order before an operator.
    const unconserved = action('MONEY_NOT_CONSERVED', 'po_open', 'FLAGGED');
    const books = new ScannedBooks(
      {
        EXTRA_SUCCESS_UNREFUNDED: [stray],
        ATTEMPT_OPEN_PAST_EXPIRY: [openPastExpiry],
        WORKFLOW_NOT_STARTED: [started],
        MONEY_NOT_CONSERVED: [unconserved],
      },
      5,
    );
    const report = await scan(books);

    assert.deepEqual(
      books.runs.map((r) => r.check),
      [...safetyNetChecks],
    );
    assert.ok(
      books.runs.every((r) => r.scannedAt === report.scannedAt && r.input.graceSeconds === 60),
    );
    assert.deepEqual(books.runs[0]!.input, scanInput);

    assert.deepEqual(report.actions, [stray, openPastExpiry, started, unconserved]);
    assert.deepEqual(report.autoCorrected, ['po_stray', 'po_lost']);
    assert.deepEqual(report.flagged, ['po_open']);
    assert.equal(report.openFindings, 5);
    assert.deepEqual(
      report.checks.map((c) => [c.check, c.acted]),
      safetyNetChecks.map((check) => [check, books.findings[check]?.length ?? 0]),
    );
    assert.equal(report.merchantId, undefined);
  });

  it('sweeps expired idempotency keys on a full scan only', async () => {
    const full = new ScannedBooks({}, 0);
    const fullReport = await scan(full);
    assert.equal(full.sweeps, 1);
    assert.equal(fullReport.idempotencyKeysSwept, 7);

    const narrow = new ScannedBooks({}, 0);
    const narrowReport = await scan(narrow, { ...scanInput, merchantId: 'mch_demo' });
    assert.equal(narrow.sweeps, 0);
    assert.equal('idempotencyKeysSwept' in narrowReport, false);
    assert.equal(narrowReport.merchantId, 'mch_demo');
    assert.ok(narrow.runs.every((r) => r.input.merchantId === 'mch_demo'));
    assert.equal(narrow.runs.length, safetyNetChecks.length);
  });

  it('reports a check that fails and still runs the others; a failed sweep is left to the next scan', async () => {
    const flagged = action('REFUND_NOT_FINAL', 'po_refund', 'FLAGGED');
    const books = new ScannedBooks({ REFUND_NOT_FINAL: [flagged] }, 2, {
      checks: ['CLOSED_ORDER_PAID'],
      sweep: true,
    });
    const report = await scan(books);
    assert.deepEqual(
      books.runs.map((r) => r.check),
      [...safetyNetChecks],
    );
    const failed = report.checks.find((c) => c.check === 'CLOSED_ORDER_PAID')!;
    assert.match(failed.error ?? '', /CLOSED_ORDER_PAID query timed out/);
    assert.equal(failed.acted, 0);
    assert.deepEqual(
      report.checks.filter((c) => c.error !== undefined).map((c) => c.check),
      ['CLOSED_ORDER_PAID'],
    );
    assert.deepEqual(report.flagged, ['po_refund']);
    assert.equal(books.sweeps, 1);
    assert.equal('idempotencyKeysSwept' in report, false);
    assert.equal(report.openFindings, 2);
  });
});
