// The money invariant: once nothing is in flight, what a pay order holds at the channel (payments
// minus refunds) is its amount less the merchant's refunds if it SUCCEEDED, and nothing otherwise.

/** The refund reason of a refund the merchant asked for: it lowers what the order keeps. */
export const merchantRefundReason = 'MERCHANT_REQUEST';

export interface MoneyOrder {
  status: string;
  amount: number;
}

export interface MoneyAttempt {
  id: string;
  outTradeNo: string;
  /** OPENING, PENDING, UNKNOWN (open), SUCCEEDED, AMOUNT_MISMATCH, CLOSED, FAILED. */
  status: string;
  amount: number;
  /** What the payer paid, when the books know it (always for AMOUNT_MISMATCH). */
  paidAmount?: number | null;
}

export interface MoneyRefund {
  attemptId: string;
  amount: number;
  /** PROCESSING (in flight), SUCCEEDED (counts), FAILED (counts as not refunded). */
  status: string;
  /** MERCHANT_REQUEST, or a compensating reason (DUPLICATE_PAYMENT, LATE_PAYMENT, ...). */
  reason: string;
}

/** The channel's own books for one of its orders. */
export interface ChannelTrade {
  outTradeNo: string;
  paidAmount: number;
  refundedAmount: number;
}

export interface MoneyBooks {
  order: MoneyOrder;
  attempts: readonly MoneyAttempt[];
  refunds: readonly MoneyRefund[];
  /** The channel's view of some or all of the attempts; the books stand in for the others. */
  channel?: readonly ChannelTrade[];
}

/**
 * OVER_COLLECTED / UNDER_COLLECTED: the channel holds more / less than the order should keep.
 * REFUND_WITHOUT_PAYMENT: a refund succeeded for a channel order the books hold as unpaid.
 * OVER_REFUNDED: a channel order's refunds exceed its payment.
 * BOOKS_DISAGREE_WITH_CHANNEL: the totals add up, but a channel order's payment or refunds in the
 * books are not the channel's.
 */
export const moneyViolationCodes = [
  'OVER_COLLECTED',
  'UNDER_COLLECTED',
  'REFUND_WITHOUT_PAYMENT',
  'OVER_REFUNDED',
  'BOOKS_DISAGREE_WITH_CHANNEL',
] as const;
export type MoneyViolationCode = (typeof moneyViolationCodes)[number];

export type MoneyVerdict =
  | { inFlight: true; message: string }
  | { inFlight: false; ok: true; netAtChannel: number; expected: number }
  | {
      inFlight: false;
      ok: false;
      code: MoneyViolationCode;
      message: string;
      netAtChannel: number;
      expected: number;
      /** The channel order at fault, when one is. */
      outTradeNo?: string;
    };

const openAttemptStatuses = new Set(['OPENING', 'PENDING', 'UNKNOWN']);

/** What the books say a channel order was paid: a success's amount, a mismatch's paid amount. */
export function paidInBooks(attempt: MoneyAttempt): number {
  if (attempt.status === 'SUCCEEDED') return attempt.paidAmount ?? attempt.amount;
  if (attempt.status === 'AMOUNT_MISMATCH') return attempt.paidAmount ?? 0;
  return 0;
}

const sum = (amounts: Iterable<number>) => {
  let total = 0;
  for (const amount of amounts) total += amount;
  return total;
};

/** Whether money is conserved for one pay order; no verdict while anything is in flight. */
export function checkMoney(books: MoneyBooks): MoneyVerdict {
  const open = books.attempts.find((a) => openAttemptStatuses.has(a.status));
  if (open) {
    return { inFlight: true, message: `channel order ${open.outTradeNo} is still ${open.status}` };
  }
  const processing = books.refunds.find((r) => r.status === 'PROCESSING');
  if (processing) {
    return { inFlight: true, message: `a refund of ${processing.amount} is still PROCESSING` };
  }

  const refunded = books.refunds.filter((r) => r.status === 'SUCCEEDED');
  const merchantRefunded = sum(
    refunded.filter((r) => r.reason === merchantRefundReason).map((r) => r.amount),
  );
  const expected = books.order.status === 'SUCCEEDED' ? books.order.amount - merchantRefunded : 0;
  const trades = books.attempts.map((attempt) => {
    const paid = paidInBooks(attempt);
    const refundedInBooks = sum(
      refunded.filter((r) => r.attemptId === attempt.id).map((r) => r.amount),
    );
    const atChannel = books.channel?.find((t) => t.outTradeNo === attempt.outTradeNo);
    return { attempt, paid, refunded: refundedInBooks, atChannel };
  });
  const netAtChannel = sum(
    trades.map((t) =>
      t.atChannel ? t.atChannel.paidAmount - t.atChannel.refundedAmount : t.paid - t.refunded,
    ),
  );
  const violation = (code: MoneyViolationCode, message: string, outTradeNo?: string) => ({
    inFlight: false as const,
    ok: false as const,
    code,
    message: `${message} (net at the channel ${netAtChannel}, expected ${expected})`,
    netAtChannel,
    expected,
    ...(outTradeNo ? { outTradeNo } : {}),
  });

  // A channel order's own books first: they name the fault more precisely than the total.
  for (const t of trades) {
    const { outTradeNo, status } = t.attempt;
    if (t.refunded > 0 && t.paid === 0) {
      return violation(
        'REFUND_WITHOUT_PAYMENT',
        `channel order ${outTradeNo} (${status}) was refunded ${t.refunded} but the books hold no payment`,
        outTradeNo,
      );
    }
    if (t.refunded > t.paid) {
      return violation(
        'OVER_REFUNDED',
        `channel order ${outTradeNo} was refunded ${t.refunded} of a payment of ${t.paid}`,
        outTradeNo,
      );
    }
  }
  if (netAtChannel > expected) {
    return violation(
      'OVER_COLLECTED',
      `the channel holds more than a ${books.order.status} order of ${books.order.amount} keeps`,
    );
  }
  if (netAtChannel < expected) {
    return violation(
      'UNDER_COLLECTED',
      `the channel holds less than a ${books.order.status} order of ${books.order.amount} keeps`,
    );
  }
  for (const t of trades) {
    if (!t.atChannel) continue;
    if (t.atChannel.paidAmount !== t.paid || t.atChannel.refundedAmount !== t.refunded) {
      return violation(
        'BOOKS_DISAGREE_WITH_CHANNEL',
        `channel order ${t.attempt.outTradeNo}: the books say paid ${t.paid}, refunded ${t.refunded}; the channel says paid ${t.atChannel.paidAmount}, refunded ${t.atChannel.refundedAmount}`,
        t.attempt.outTradeNo,
      );
    }
  }
  return { inFlight: false, ok: true, netAtChannel, expected };
}
