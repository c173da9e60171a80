// The strayPayment workflow's contract: refunds a success that arrives after its pay order's
// workflow has completed. Keyed by the attempt (`stray_<attempt id>`), so however many reports
// of one payment arrive, one run at a time handles it.
import type { QuerySchedule } from '../../domain/querySchedule';
import { workflowContract } from './contract';
import type { RefundStatus } from './merchantRefund';

export interface StrayPaymentInput {
  payOrderId: string;
  attemptId: string;
  channel: string;
  outTradeNo: string;
  querySchedule?: QuerySchedule;
  merchantNotifyRetrySeconds?: number[];
  /** The amount the channel's statement books for it (reconciliation): no query is needed. */
  confirmedAmount?: number;
}

export type StrayPaymentOutcome = 'ALREADY_ACCOUNTED' | 'NOT_PAID' | RefundStatus;

export const strayPaymentWorkflow = workflowContract<StrayPaymentInput, StrayPaymentOutcome>()(
  'strayPayment',
);

/** The stray-payment refund of one channel order: one per attempt, however many ask for it. */
export function strayPaymentWorkflowId(attemptId: string): string {
  return `stray_${attemptId}`;
}
