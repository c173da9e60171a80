// What a success for a channel order is once its pay order workflow has completed: a payment the
// books already account for, or extra money to refund, and why.
import type { Currency } from './money';
import type { ExtraPaymentReason } from './payOrder';

/** What the books hold about a stray payment's channel order. */
export interface StrayPaymentBooks {
  order: {
    status: string;
    paidAttemptId: string | null;
    amount: number;
    currency: string;
    merchantId: string;
    merchantOrderNo: string;
  };
  attempt: { id: string; status: string; amount: number; paidAmount: number | null };
  /** Some refund already names the channel order. */
  refunded: boolean;
}

export type StrayPaymentVerdict =
  | { kind: 'accounted' }
  | {
      kind: 'refund';
      reason: ExtraPaymentReason;
      amount: number;
      currency: Currency;
      merchantId: string;
      merchantOrderNo: string;
      orderStatus: string;
      orderAmount: number;
    };

export function classifyStrayPayment({
  order,
  attempt,
  refunded,
}: StrayPaymentBooks): StrayPaymentVerdict {
  if (order.paidAttemptId === attempt.id || refunded) return { kind: 'accounted' };
  const reason: ExtraPaymentReason =
    attempt.status === 'AMOUNT_MISMATCH'
      ? 'AMOUNT_MISMATCH'
      : order.status === 'SUCCEEDED'
        ? 'DUPLICATE_PAYMENT'
        : 'LATE_PAYMENT';
  return {
    kind: 'refund',
    reason,
    // What the payer paid (another amount than asked goes back whole).
    amount: attempt.paidAmount ?? attempt.amount,
    currency: order.currency as Currency,
    merchantId: order.merchantId,
    merchantOrderNo: order.merchantOrderNo,
    orderStatus: order.status,
    orderAmount: order.amount,
  };
}
