// The safety net's rules: who corrects a success no refund answers, and what a scan reports.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  correctUnrefundedSuccess,
  cutoff,
  emptyCheckReport,
  safetyNetReport,
  type CheckReport,
  type WorkflowState,
} from '../../src/domain/safetyNet';

const states: WorkflowState[] = ['RUNNING', 'CLOSED', 'NONE'];

describe('a success in the books that no refund answers', () => {
  it('is left to the pay order workflow while it runs, and put before an operator', () => {
    for (const strayPayment of states) {
      const correction = correctUnrefundedSuccess({ payOrderWorkflow: 'RUNNING', strayPayment });
      assert.equal(correction.kind, 'flag', strayPayment);
    }
  });

  it('is refunded by a stray-payment workflow once the pay order workflow has completed', () => {
    for (const payOrderWorkflow of ['CLOSED', 'NONE'] as const) {
      assert.deepEqual(correctUnrefundedSuccess({ payOrderWorkflow, strayPayment: 'NONE' }), {
        kind: 'strayPayment',
      });
    }
  });

  it('waits for a stray-payment refund under way, and flags one that ended without refunding', () => {
    assert.equal(
      correctUnrefundedSuccess({ payOrderWorkflow: 'CLOSED', strayPayment: 'RUNNING' }).kind,
      'wait',
    );
    assert.equal(
      correctUnrefundedSuccess({ payOrderWorkflow: 'CLOSED', strayPayment: 'CLOSED' }).kind,
      'flag',
    );
  });
});

describe('a scan', () => {
  it('acts on states older than the threshold before the scan', () => {
    assert.equal(
      cutoff('2025-03-01T10:00:00.000Z', 1800).toISOString(),
      '2025-03-01T09:30:00.000Z',
    );
  });

  it('reports per check counts, every action, and the pay orders corrected or flagged', () => {
    const checks: CheckReport[] = [
      {
        ...emptyCheckReport('EXTRA_SUCCESS_UNREFUNDED'),
        found: 1,
        acted: 1,
        actions: [
          {
            check: 'EXTRA_SUCCESS_UNREFUNDED',
            subject: 'att_2',
            payOrderId: 'po_1',
            action: 'STRAY_PAYMENT',
            workflowId: 'stray_att_2',
            reason: 'refunded by a stray-payment workflow',
          },
        ],
      },
      {
        ...emptyCheckReport('REFUND_NOT_FINAL'),
        found: 3,
        acted: 2,
        alreadyKnown: 1,
        actions: ['rf_1', 'rf_2'].map((subject) => ({
          check: 'REFUND_NOT_FINAL' as const,
          subject,
          payOrderId: 'po_2',
          action: 'FLAGGED' as const,
          reason: 'still PROCESSING',
        })),
      },
      { ...emptyCheckReport('MERCHANT_NOT_NOTIFIED'), error: 'database down' },
    ];
    const report = safetyNetReport({ scannedAt: '2025-03-01T10:00:00.000Z' }, checks, 7);
    assert.deepEqual(report.autoCorrected, ['po_1']);
    assert.deepEqual(report.flagged, ['po_2']);
    assert.equal(report.actions.length, 3);
    assert.equal(report.openFindings, 7);
    assert.equal(report.merchantId, undefined);
    assert.deepEqual(
      report.checks.map((c) => [c.check, c.found, c.acted, c.alreadyKnown, c.error]),
      [
        ['EXTRA_SUCCESS_UNREFUNDED', 1, 1, 0, undefined],
        ['REFUND_NOT_FINAL', 3, 2, 1, undefined],
        ['MERCHANT_NOT_NOTIFIED', 0, 0, 0, 'database down'],
      ],
    );
    assert.ok(report.checks.every((c) => !('actions' in c)));
  });
});
