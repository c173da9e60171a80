// The payment workflow's contract: one run per pay order, keyed by its ID (`po_…`); its input,
// its result, the signals, updates and queries it answers, and the search attributes it keeps.
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { Currency } from '../../domain/money';
import type { QuerySchedule } from '../../domain/querySchedule';
import type {
  AttemptStatus,
  ChannelFact,
  ExtraPaymentReason,
  PayOrderState,
  PayRequest,
  PayStatus,
} from '../../domain/payOrder';
import { workflowContract } from './contract';

export interface PaymentInput {
  payOrderId: string;
  merchantId: string;
  merchantOrderNo: string;
  amount: number;
  currency: Currency;
  subject: string;
  expiresAt: string;
  returnUrl?: string;
  /** Base URL channels post notifications to; the channel name is appended. */
  webhookBaseUrl: string;
  lateWindowSeconds: number;
  /** Absent in workflows started before the query fallback existed; they use the defaults. */
  querySchedule?: QuerySchedule;
  /** Absent in workflows started before merchant notifications existed; they use the defaults. */
  merchantNotifyRetrySeconds?: number[];
  /** How long a pay request waits for a synchronous channel's pending payment. */
  syncPayWaitSeconds?: number;
  /** Channel orders one pay order may open in all; absent (no cap) in older workflows. */
  maxChannelOrders?: number;
  /** History length after which a run continues as new (Temporal may suggest it earlier). */
  continueAsNewAfterEvents?: number;
  /** Set by continue-as-new: where the previous run of this pay order stood. */
  resume?: PaymentResume;
}

/** What a payment run hands to the next when its history grows long (continue-as-new). */
export interface PaymentResume {
  state: PayOrderState;
  version: number;
  queriesDone: number;
  failuresInARow: number;
  lastQueryAtMs?: number;
  /** Why the order is flagged, when that reason passes by itself (see PassingFlag). */
  passingFlag?: PassingFlag;
  /** Why the order needs an operator, while it does (AttentionReason). */
  attention?: { code: string; reason: string };
  refunds: RefundView[];
  facts: ChannelFact[];
  /** The task time of the previous run's last save, which the next run's saves never go below. */
  savedInTaskAt?: number;
}

export interface AttemptView {
  id: string;
  outTradeNo: string;
  channel: string;
  method: string;
  status: AttemptStatus;
  payUrl?: string;
  payParams?: Record<string, string>;
}

export interface RefundView {
  id: string;
  amount: number;
  reason: ExtraPaymentReason;
  status: 'PROCESSING' | 'SUCCEEDED' | 'FAILED';
}

export interface PayOrderView {
  id: string;
  status: PayStatus;
  needsAttention: boolean;
  amount: number;
  currency: Currency;
  attempts: AttemptView[];
  refunds: RefundView[];
}

/** The workflow's result: the order as it stood when its late window ended. */
export const paymentWorkflow = workflowContract<PaymentInput, PayOrderView>()('payment');

/** A pay order's workflow runs under the pay order's ID. */
export function paymentWorkflowId(payOrderId: string): string {
  return payOrderId;
}

export interface PayAnswer {
  attempt: AttemptView;
}

/** Ask for a channel order to pay with: opens one, reuses the open one, or refuses. */
export const pay = defineUpdate<PayAnswer, [PayRequest]>('pay');
/** A verified channel notification, already parsed into a fact. */
export const notify = defineSignal<[ChannelFact]>('notify');
/**
 * Ask the channel now ("I have finished paying") and answer the fresh view. Refused with
 * `NOTHING_TO_SYNC` when no open channel order could learn anything (the books are current).
 */
export const sync = defineUpdate<PayOrderView, []>('sync');
/** The merchant closes the order: open channel orders are closed at the channel first. */
export const close = defineUpdate<PayOrderView, []>('close');
export const status = defineQuery<PayOrderView>('status');
/**
 * A flag that passes by itself: CHANNEL_SILENT (queries or closes in a row learnt nothing) clears
 * once a query learns the status or every channel order is confirmed closed; OPEN_PAST_EXPIRY (a
 * safety-net scan saw a channel order open past the order's expiry) once every one is closed.
 */
export type PassingFlag = 'CHANNEL_SILENT' | 'OPEN_PAST_EXPIRY';

/**
 * Something outside the workflow (reconciliation, a safety-net scan) wants an operator to look.
 * `passes`: the flag is for a channel order open past expiry, and passes once none is open.
 * `code`: the reason's short name, shown as AttentionReason (senders before it gave none).
 */
export const attention =
  defineSignal<[reason: string, passes?: 'OPEN_PAST_EXPIRY', code?: string]>('attention');
/** An operator has looked and clears NeedsAttention, saying why (the audit log keeps the note). */
export const clearAttention = defineSignal<[note: string]>('clearAttention');

export const searchAttributes = {
  merchantId: defineSearchAttributeKey('MerchantId', SearchAttributeType.KEYWORD),
  merchantOrderNo: defineSearchAttributeKey('MerchantOrderNo', SearchAttributeType.KEYWORD),
  payStatus: defineSearchAttributeKey('PayStatus', SearchAttributeType.KEYWORD),
  payChannel: defineSearchAttributeKey('PayChannel', SearchAttributeType.KEYWORD),
  needsAttention: defineSearchAttributeKey('NeedsAttention', SearchAttributeType.BOOL),
  /** The order's amount in minor units, set at start. */
  amount: defineSearchAttributeKey('Amount', SearchAttributeType.INT),
  /** When the order expires, set at start. */
  expiresAt: defineSearchAttributeKey('ExpiresAt', SearchAttributeType.DATETIME),
  /** What went wrong and was made harmless (AnomalyKind); runs since `operator-attributes`. */
  anomalyKinds: defineSearchAttributeKey('AnomalyKinds', SearchAttributeType.KEYWORD_LIST),
  /** Why the order needs an operator (AttentionReason), while it does; runs since `operator-attributes`. */
  attentionReason: defineSearchAttributeKey('AttentionReason', SearchAttributeType.KEYWORD),
} as const;

/**
 * The anomalies a payment can meet, as AnomalyKinds shows them: money the order did not need
 * (refunded), and a success learnt by asking the channel or from its statement rather than from
 * its notification (掉单, found anyway).
 */
export type AnomalyKind =
  | 'DUPLICATE_PAYMENT'
  | 'LATE_PAYMENT'
  | 'AMOUNT_MISMATCH'
  | 'FOUND_BY_QUERY'
  | 'FOUND_BY_STATEMENT';

/**
 * Why the order needs an operator, as AttentionReason shows it: a flag that passes by itself
 * (PassingFlag), a refund the channel refused, a success of another amount, or the code the
 * `attention` signal gave (a safety-net check's name, RECONCILIATION_DIFFERENCE,
 * STRAY_PAYMENT_UNCONFIRMED); FLAGGED when it gave none.
 */
export type AttentionReason = PassingFlag | 'REFUND_REFUSED' | 'AMOUNT_MISMATCH' | (string & {});

/** The sync Update's refusal when asking the channel could not change anything. */
export const nothingToSync = 'NOTHING_TO_SYNC';

/** An Update's refusal while the run hands over to a new one (continue-as-new): try again. */
export const handOver = 'HANDING_OVER';
