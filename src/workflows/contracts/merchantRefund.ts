// The merchantRefund workflow's contract: one run per refund a merchant asks for, keyed by the
// refund's ID (`rf_…`, also the channel's idempotency key); it ends with the refund's final status.
import type { Currency } from '../../domain/money';
import type { ExtraPaymentReason } from '../../domain/payOrder';
import type { QuerySchedule } from '../../domain/querySchedule';
import { workflowContract } from './contract';

export type RefundStatus = 'PROCESSING' | 'SUCCEEDED' | 'FAILED';

/** A refund as the workflows record it (merchant refunds, stray payments, compensations). */
export interface RefundRecord {
  id: string;
  payOrderId: string;
  merchantId: string;
  attemptId: string;
  amount: number;
  currency: Currency;
  /** Why the money goes back: money the order did not need, or the merchant asked. */
  reason: ExtraPaymentReason | 'MERCHANT_REQUEST';
  status: RefundStatus;
}

export interface MerchantRefundInput {
  /** The refund row written by the API; also the workflow ID and the channel's idempotency key. */
  refund: RefundRecord;
  channel: string;
  outTradeNo: string;
  method?: string;
  merchantOrderNo: string;
  orderAmount: number;
  querySchedule?: QuerySchedule;
  merchantNotifyRetrySeconds?: number[];
}

export const merchantRefundWorkflow = workflowContract<MerchantRefundInput, RefundStatus>()(
  'merchantRefund',
);

/** A merchant refund's workflow runs under the refund's ID. */
export function merchantRefundWorkflowId(refundId: string): string {
  return refundId;
}
