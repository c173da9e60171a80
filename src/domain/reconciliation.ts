// Reconciliation's rules: how a channel's statement of one day is matched with our books, which
// differences are corrected automatically and which wait for an operator. Pure; no I/O.
import { paidStatuses, type AttemptStatus } from './payOrder';

/** One line of a channel's daily statement, as every channel adapter parses it. */
export interface StatementEntry {
  kind: 'PAYMENT' | 'REFUND';
  outTradeNo: string;
  channelTradeNo: string;
  /** Minor units. */
  amount: number;
  currency: string;
  /** Our refund ID for a refund line (the channel's refund idempotency key). */
  refundNo?: string;
  /** ISO 8601 instant. */
  at: string;
}

/** One of our channel orders (attempts) as the books hold it. */
export interface BookPayment {
  payOrderId: string;
  attemptId: string;
  outTradeNo: string;
  amount: number;
  currency: string;
  status: AttemptStatus;
}

/** One of our refunds as the books hold it; its ID is the refund no the channel knows. */
export interface BookRefund {
  payOrderId: string;
  refundId: string;
  outTradeNo: string;
  amount: number;
  currency: string;
  status: 'PROCESSING' | 'SUCCEEDED' | 'FAILED';
}

/** What our books hold about one statement line: the channel order it names, and our refund. */
export interface LineBooks {
  /** Our channel order with the line's out_trade_no (a refund line's too). */
  payment?: BookPayment;
  /** Our refund with a refund line's refund no. */
  refund?: BookRefund;
}

export const differenceKinds = [
  /** The channel booked a payment we hold as not paid (a lost notification): settle it. */
  'MISSED_PAYMENT',
  /** The channel booked a payment for no channel order of ours. */
  'UNKNOWN_PAYMENT',
  /** We hold a payment as succeeded that the channel did not book (短款). */
  'MISSING_AT_CHANNEL',
  /** The channel booked another amount or currency than our channel order's. */
  'AMOUNT_MISMATCH',
  /** The channel booked a refund we still hold as processing: its workflow will settle it. */
  'REFUND_NOT_FINAL',
  /** The channel booked a refund we hold as failed. */
  'REFUND_FAILED_IN_BOOKS',
  /** The channel booked a refund we never asked for. */
  'UNKNOWN_REFUND',
  /** We hold a refund as succeeded that the channel did not book. */
  'REFUND_MISSING_AT_CHANNEL',
  /** The channel booked another refund amount than ours. */
  'REFUND_AMOUNT_MISMATCH',
] as const;
export type DifferenceKind = (typeof differenceKinds)[number];

/**
 * CORRECTING: handed to a workflow; CORRECTED: a later run found it settled (or another day's
 * statement booked a held one); HELD: may be a day-boundary shift, waiting for the next days'
 * statements (src/domain/reconciliationHolding.ts); OPS: an operator decides; RESOLVED: an
 * operator did (or a later run no longer found it).
 */
export type Resolution = 'CORRECTING' | 'CORRECTED' | 'HELD' | 'OPS' | 'RESOLVED';

export interface Difference {
  kind: DifferenceKind;
  /** The out_trade_no, or the refund no for refund differences. */
  reference: string;
  payOrderId?: string;
  attemptId?: string;
  refundId?: string;
  currency: string;
  channelAmount?: number;
  bookAmount?: number;
  line?: StatementEntry;
  book?: BookPayment | BookRefund;
  resolution: 'CORRECTING' | 'HELD' | 'OPS';
  urgent: boolean;
  /** What paycenter does about it, or what an operator has to decide. */
  action: string;
}

export interface Matched {
  payments: number;
  refunds: number;
  /** Matched amounts per currency, minor units. */
  amounts: Record<string, number>;
}

/** Matched lines so far: a statement is matched line by line, in batches (see compareLine). */
export function noneMatched(): Matched {
  return { payments: 0, refunds: 0, amounts: {} };
}

/**
 * One statement line against what the books hold about it: its difference, or null when it
 * matches (then counted in `matched`). Which booked successes a statement fails to name is the
 * books' question (src/db/books/reconciliation.ts, `unnamedSuccesses`); each of those is a
 * difference by `missingAtChannel` or `refundMissingAtChannel`.
 */
export function compareLine(
  line: StatementEntry,
  books: LineBooks,
  matched: Matched,
): Difference | null {
  const difference =
    line.kind === 'PAYMENT'
      ? comparePayment(line, books.payment)
      : compareRefund(line, line.refundNo ?? '', books.refund, books.payment);
  if (difference) return difference;
  matched[line.kind === 'PAYMENT' ? 'payments' : 'refunds'] += 1;
  matched.amounts[line.currency] = (matched.amounts[line.currency] ?? 0) + line.amount;
  return null;
}

/** A payment we hold as succeeded that day which the statement does not name (短款). */
export function missingAtChannel(book: BookPayment): Difference {
  return {
    kind: 'MISSING_AT_CHANNEL',
    reference: book.outTradeNo,
    payOrderId: book.payOrderId,
    attemptId: book.attemptId,
    currency: book.currency,
    bookAmount: book.amount,
    book,
    resolution: 'OPS',
    urgent: true,
    action:
      'we hold this channel order as paid but the channel did not book it: check with the ' +
      'channel before the merchant ships or refunds',
  };
}

/** A refund we hold as succeeded that day which the statement does not name. */
export function refundMissingAtChannel(book: BookRefund): Difference {
  return {
    kind: 'REFUND_MISSING_AT_CHANNEL',
    reference: book.refundId,
    payOrderId: book.payOrderId,
    refundId: book.refundId,
    currency: book.currency,
    bookAmount: book.amount,
    book,
    resolution: 'OPS',
    urgent: true,
    action: 'we hold this refund as done but the channel did not book it: check with the channel',
  };
}

function comparePayment(line: StatementEntry, book: BookPayment | undefined): Difference | null {
  const common = {
    reference: line.outTradeNo,
    currency: line.currency,
    channelAmount: line.amount,
    line,
  };
  if (!book) {
    return {
      ...common,
      kind: 'UNKNOWN_PAYMENT',
      resolution: 'OPS',
      urgent: true,
      action:
        'the channel booked a payment for no channel order of ours: find whose it is, or ' +
        'refund it at the channel',
    };
  }
  const ours = {
    ...common,
    payOrderId: book.payOrderId,
    attemptId: book.attemptId,
    bookAmount: book.amount,
    book,
  };
  if (book.amount !== line.amount || book.currency !== line.currency) {
    return {
      ...ours,
      kind: 'AMOUNT_MISMATCH',
      resolution: 'OPS',
      urgent: true,
      action: `the channel booked ${line.amount} ${line.currency} for a channel order of ${book.amount} ${book.currency}: decide with the channel and the merchant`,
    };
  }
  if (paidStatuses.includes(book.status)) return null;
  return {
    ...ours,
    kind: 'MISSED_PAYMENT',
    resolution: 'CORRECTING',
    urgent: false,
    action:
      'the payment is handed to its pay order workflow, which settles the order or refunds ' +
      'a late or duplicate payment',
  };
}

function compareRefund(
  line: StatementEntry,
  refundNo: string,
  book: BookRefund | undefined,
  payment: BookPayment | undefined,
): Difference | null {
  const common = { reference: refundNo, currency: line.currency, channelAmount: line.amount, line };
  if (!book) {
    return {
      ...common,
      ...(payment ? { payOrderId: payment.payOrderId, attemptId: payment.attemptId } : {}),
      kind: 'UNKNOWN_REFUND',
      resolution: 'OPS',
      urgent: true,
      action:
        'the channel booked a refund paycenter never asked for (made at the channel console?): ' +
        'record it with the merchant',
    };
  }
  const ours = {
    ...common,
    payOrderId: book.payOrderId,
    refundId: book.refundId,
    bookAmount: book.amount,
    book,
  };
  if (book.amount !== line.amount || book.currency !== line.currency) {
    return {
      ...ours,
      kind: 'REFUND_AMOUNT_MISMATCH',
      resolution: 'OPS',
      urgent: true,
      action: `the channel refunded ${line.amount} ${line.currency} where we asked for ${book.amount} ${book.currency}`,
    };
  }
  switch (book.status) {
    case 'SUCCEEDED':
      return null;
    case 'PROCESSING':
      return {
        ...ours,
        kind: 'REFUND_NOT_FINAL',
        resolution: 'CORRECTING',
        urgent: false,
        action: 'the refund workflow is still following this refund and will record it as done',
      };
    case 'FAILED':
      return {
        ...ours,
        kind: 'REFUND_FAILED_IN_BOOKS',
        resolution: 'OPS',
        urgent: true,
        action:
          'the channel refunded what we recorded as a failed refund: correct the record and ' +
          'make sure it is not refunded a second time',
      };
  }
}

/** What the books say became of a missed payment after it was handed over for correction. */
export interface MissedPaymentAfterCorrection {
  /** The channel order is the one that paid its pay order. */
  paidTheOrder: boolean;
  /** The statuses of the refunds of the channel order (a late or duplicate payment). */
  refunds: readonly ('PROCESSING' | 'SUCCEEDED' | 'FAILED')[];
}

/**
 * A missed payment a later run no longer finds (the books now hold it as paid) is CORRECTED only
 * once its money is accounted for: it paid the order, or a refund of it succeeded. A refund under
 * way keeps it CORRECTING; a refund the channel refused puts it before an operator (OPS).
 */
export function missedPaymentResolution(
  books: MissedPaymentAfterCorrection,
): 'CORRECTED' | 'CORRECTING' | 'OPS' {
  if (books.paidTheOrder || books.refunds.includes('SUCCEEDED')) return 'CORRECTED';
  if (books.refunds.includes('PROCESSING')) return 'CORRECTING';
  return books.refunds.includes('FAILED') ? 'OPS' : 'CORRECTING';
}

/** Per class: how many, and how much per currency (the channel's amount where it has one). */
export interface ClassTotal {
  count: number;
  amounts: Record<string, number>;
}

export interface ReconciliationReport {
  channel: string;
  day: string;
  statementId: string;
  statementLines: number;
  /** Runs of this day so far, this one included. */
  run: number;
  matched: Matched;
  classes: Partial<Record<DifferenceKind, ClassTotal>>;
  /** Differences handed to workflows (CORRECTING) or confirmed settled by this run (CORRECTED). */
  autoCorrected: ReportItem[];
  /** Differences that wait for an operator. */
  forOperators: ReportItem[];
  /** This day's differences that may be a day-boundary shift, waiting for later statements. */
  held: ReportItem[];
  /** Held differences (of any day) this run cleared by another day's statement or released. */
  holdsSettled: ReportItem[];
  /** Found by an earlier run and no longer found now. */
  settledSinceLastRun: number;
}

export interface ReportItem {
  id: string;
  /** The statement day of the difference, where it is not the report's own. */
  day?: string;
  /** For a held difference: the last day whose statement it waits for. */
  heldUntil?: string;
  kind: DifferenceKind;
  reference: string;
  payOrderId?: string;
  channelAmount?: number;
  bookAmount?: number;
  currency?: string;
  resolution: Resolution;
  urgent: boolean;
  action: string;
}

export function classTotals(
  differences: readonly Pick<Difference, 'kind' | 'currency' | 'channelAmount' | 'bookAmount'>[],
): Partial<Record<DifferenceKind, ClassTotal>> {
  const classes: Partial<Record<DifferenceKind, ClassTotal>> = {};
  for (const d of differences) {
    const total = (classes[d.kind] ??= { count: 0, amounts: {} });
    total.count += 1;
    total.amounts[d.currency] =
      (total.amounts[d.currency] ?? 0) + (d.channelAmount ?? d.bookAmount ?? 0);
  }
  return classes;
}

/** yyyy-MM-dd, a real calendar day. */
export function isCalendarDay(day: string): boolean {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(day)) return false;
  const date = new Date(`${day}T00:00:00Z`);
  return !Number.isNaN(date.getTime()) && date.toISOString().startsWith(day);
}

/** The calendar day of an instant in a time zone, yyyy-MM-dd. */
export function dayIn(timeZone: string, at: Date): string {
  const parts = new Intl.DateTimeFormat('en-CA', {
    timeZone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
  }).formatToParts(at);
  const part = (type: string) => parts.find((p) => p.type === type)!.value;
  return `${part('year')}-${part('month')}-${part('day')}`;
}

/** The day before a yyyy-MM-dd day. */
export function dayBefore(day: string): string {
  const date = new Date(`${day}T00:00:00Z`);
  date.setUTCDate(date.getUTCDate() - 1);
  return date.toISOString().slice(0, 10);
}

/** The report as an operator reads it in a terminal. */
export function formatReport(report: ReconciliationReport): string {
  const amounts = (byCurrency: Record<string, number>) =>
    Object.entries(byCurrency)
      .map(([currency, amount]) => `${amount} ${currency}`)
      .join(', ') || '-';
  const item = (i: ReportItem) =>
    `  ${i.urgent ? 'URGENT ' : ''}${i.kind}  ${i.reference}  ${i.payOrderId ?? '(no pay order)'}  ` +
    `channel ${i.channelAmount ?? '-'} / books ${i.bookAmount ?? '-'} ${i.currency ?? ''}\n    ${i.resolution}: ${i.action}`;
  const classes = Object.entries(report.classes).map(
    ([kind, total]) => `  ${kind}: ${total.count} (${amounts(total.amounts)})`,
  );
  return [
    `Reconciliation of ${report.channel} ${report.day} (run ${report.run}, statement ${report.statementId}, ${report.statementLines} lines)`,
    `Matched: ${report.matched.payments} payments, ${report.matched.refunds} refunds (${amounts(report.matched.amounts)})`,
    `Differences by class:`,
    ...(classes.length > 0 ? classes : ['  none']),
    `Settled since the last run: ${report.settledSinceLastRun}`,
    `Auto-corrected (${report.autoCorrected.length}):`,
    ...report.autoCorrected.map(item),
    `For operators (${report.forOperators.length}):`,
    ...report.forOperators.map(item),
    `Held for a later statement (${report.held.length}):`,
    ...report.held.map((i) => `${item(i)}\n    held until the statement of ${i.heldUntil}`),
    `Holds settled by this run (${report.holdsSettled.length}):`,
    ...report.holdsSettled.map((i) => `${item(i)}\n    held on ${i.day}`),
  ].join('\n');
}
