// The simulator's trade model: what its engine keeps of a trade and a refund, in the shape of the
// sandbox channel's wire (Alipay-like statuses, snake_case), which that channel's face serves as is
// and the other faces translate into their own protocols.
import type { SandboxCreateRequest } from '../src/channels/sandbox/protocol';

export type TradeStatus = 'WAIT_BUYER_PAY' | 'TRADE_SUCCESS' | 'TRADE_CLOSED';

/**
 * What a face asks the engine to open: the sandbox channel's create request, which that channel's
 * face passes on as it came and the other faces translate their own into.
 */
export type TradeRequest = SandboxCreateRequest;

/** A trade as the channel shows it. */
export interface ChannelTrade {
  out_trade_no: string;
  trade_no: string;
  trade_status: TradeStatus;
  total_amount: number;
  currency: string;
  pay_url: string;
  gmt_payment?: string;
}

/** A notification the engine owes, before a face writes it in its protocol. */
export interface TradeNotification {
  notify_id: string;
  out_trade_no: string;
  trade_no: string;
  trade_status: TradeStatus;
  total_amount: number;
  currency: string;
  gmt_payment?: string;
}

export type RefundStatus = 'REFUND_PROCESSING' | 'REFUND_SUCCESS' | 'REFUND_CLOSED';

export interface RefundRequest {
  out_trade_no: string;
  /** The refund's idempotency key: a repeat answers the same refund. */
  out_request_no: string;
  refund_amount: number;
}

export interface Refund {
  out_trade_no: string;
  out_request_no: string;
  refund_amount: number;
  refund_status: RefundStatus;
}

/** Error codes the engine refuses with, as `{ code, message }`. */
export type GatewayErrorCode =
  | 'INVALID_SIGNATURE'
  | 'INVALID_REQUEST'
  | 'TRADE_NOT_EXIST'
  | 'OUT_TRADE_NO_USED'
  | 'TRADE_HAS_SUCCESS'
  | 'TRADE_HAS_CLOSE'
  | 'TRADE_NOT_PAID'
  | 'REFUND_AMOUNT_EXCEEDED'
  | 'REFUND_NOT_EXIST'
  /** Too many requests: nothing was done, ask again later (HTTP 429). */
  | 'FREQUENCY_LIMITED'
  | 'SYSTEM_ERROR';

/** The instants a statement day covers: these channels close their days at Beijing midnight. */
export function statementDayBounds(day: string): { from: Date; to: Date } {
  const from = new Date(`${day}T00:00:00+08:00`);
  return { from, to: new Date(from.getTime() + 24 * 3600 * 1000) };
}
