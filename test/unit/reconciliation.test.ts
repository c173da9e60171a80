// Matching a channel's statement with our books: every class of difference, and what is settled
// automatically versus handed to an operator.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  classTotals,
  dayBefore,
  dayIn,
  compareLine,
  isCalendarDay,
  missingAtChannel,
  noneMatched,
  refundMissingAtChannel,
  type BookPayment,
  type BookRefund,
  type StatementEntry,
} from '../../src/domain/reconciliation';

const at = '2026-11-24T10:00:00.000Z';
const payment = (outTradeNo: string, amount: number): StatementEntry => ({
  kind: 'PAYMENT',
  outTradeNo,
  channelTradeNo: `C${outTradeNo}`,
  amount,
  currency: 'CNY',
  at,
});
const refund = (outTradeNo: string, refundNo: string, amount: number): StatementEntry => ({
  ...payment(outTradeNo, amount),
  kind: 'REFUND',
  refundNo,
});
const attempt = (outTradeNo: string, amount: number, status: BookPayment['status']) => ({
  payOrderId: `po_${outTradeNo}`,
  attemptId: `att_${outTradeNo}`,
  outTradeNo,
  amount,
  currency: 'CNY',
  status,
});
const ourRefund = (refundId: string, amount: number, status: BookRefund['status']): BookRefund => ({
  payOrderId: 'po_T1',
  refundId,
  outTradeNo: 'T1',
  amount,
  currency: 'CNY',
  status,
});

/** The lines against the books, one by one, as the activity matches a page of them. */
function matchLines(lines: StatementEntry[], payments: BookPayment[], refunds: BookRefund[] = []) {
  const matched = noneMatched();
  const differences = lines.flatMap((line) => {
    const payment = payments.find((p) => p.outTradeNo === line.outTradeNo);
    const refund = refunds.find((r) => line.kind === 'REFUND' && r.refundId === line.refundNo);
    return compareLine(line, { payment, refund }, matched) ?? [];
  });
  return { matched, differences };
}

describe('matching a statement with the books', () => {
  it('matches payments and refunds that agree, and sums them per currency', () => {
    const paid = attempt('T1', 1000, 'SUCCEEDED');
    const { matched, differences } = matchLines(
      [payment('T1', 1000), refund('T1', 'rf_1', 300)],
      [paid],
      [ourRefund('rf_1', 300, 'SUCCEEDED')],
    );
    assert.deepEqual(differences, []);
    assert.deepEqual(matched, { payments: 1, refunds: 1, amounts: { CNY: 1300 } });
  });

  it('hands a payment we hold as unpaid to its workflow (a lost notification)', () => {
    const [difference] = matchLines(
      [payment('T1', 1000)],
      [attempt('T1', 1000, 'PENDING')],
    ).differences;
    assert.equal(difference?.kind, 'MISSED_PAYMENT');
    assert.equal(difference?.resolution, 'CORRECTING');
    assert.equal(difference?.attemptId, 'att_T1');
  });

  it('gives an operator what cannot be decided: unknown payments, amounts, 短款, refunds', () => {
    const reversed = attempt('T9', 900, 'SUCCEEDED');
    const { differences: lineDifferences } = matchLines(
      [
        payment('OUTSIDE', 500),
        payment('T2', 1999),
        refund('T1', 'CONSOLE-1', 100),
        refund('T1', 'rf_2', 250),
        refund('T1', 'rf_3', 300),
        refund('T1', 'rf_4', 400),
      ],
      [attempt('T2', 2000, 'PENDING'), attempt('T1', 1000, 'SUCCEEDED')],
      [
        ourRefund('rf_2', 200, 'SUCCEEDED'),
        ourRefund('rf_3', 300, 'FAILED'),
        ourRefund('rf_4', 400, 'PROCESSING'),
      ],
    );
    // What the books hold as done that day and the statement does not name (the books decide
    // which, in SQL: test/e2e/reconciliation*.test.ts).
    const differences = [
      ...lineDifferences,
      missingAtChannel(reversed),
      refundMissingAtChannel(ourRefund('rf_5', 50, 'SUCCEEDED')),
    ];
    const found = differences.map((d) => [d.kind, d.reference, d.resolution, d.urgent]);
    assert.deepEqual(found, [
      ['UNKNOWN_PAYMENT', 'OUTSIDE', 'OPS', true],
      ['AMOUNT_MISMATCH', 'T2', 'OPS', true],
      ['UNKNOWN_REFUND', 'CONSOLE-1', 'OPS', true],
      ['REFUND_AMOUNT_MISMATCH', 'rf_2', 'OPS', true],
      ['REFUND_FAILED_IN_BOOKS', 'rf_3', 'OPS', true],
      ['REFUND_NOT_FINAL', 'rf_4', 'CORRECTING', false],
      ['MISSING_AT_CHANNEL', 'T9', 'OPS', true],
      ['REFUND_MISSING_AT_CHANNEL', 'rf_5', 'OPS', true],
    ]);
    // A refund at the console is still traced to the pay order it was taken from.
    assert.equal(differences[2]?.payOrderId, 'po_T1');
    assert.deepEqual(classTotals(differences).UNKNOWN_PAYMENT, { count: 1, amounts: { CNY: 500 } });
  });
});

describe('statement days', () => {
  it('knows calendar days', () => {
    assert.equal(isCalendarDay('2026-11-24'), true);
    assert.equal(isCalendarDay('2028-02-29'), true);
    for (const day of ['2026-02-30', '2026-13-01', '26-11-24', '2026-11-24T00:00', ''])
      assert.equal(isCalendarDay(day), false, day);
  });

  it('reads the day in the reconciliation time zone, and the day before it', () => {
    const instant = new Date('2026-11-24T17:30:00Z');
    assert.equal(dayIn('Asia/Shanghai', instant), '2026-11-25');
    assert.equal(dayIn('UTC', instant), '2026-11-24');
    assert.equal(dayBefore('2026-03-01'), '2026-02-28');
    assert.equal(dayBefore('2027-01-01'), '2026-12-31');
  });
});
