// The sandbox channel's wire protocol, shared by our adapter and the sandbox gateway itself:
// JSON bodies, HMAC-SHA256 over "timestamp\nbody" with the app's secret, Alipay-like trade statuses.
import { createHmac, timingSafeEqual } from 'node:crypto';

export const sandboxHeaders = {
  appId: 'x-sandbox-app-id',
  timestamp: 'x-sandbox-timestamp',
  signature: 'x-sandbox-signature',
} as const;

export const signatureToleranceMs = 5 * 60 * 1000;

export type SandboxTradeStatus = 'WAIT_BUYER_PAY' | 'TRADE_SUCCESS' | 'TRADE_CLOSED';

export interface SandboxCreateRequest {
  out_trade_no: string;
  total_amount: number;
  currency: string;
  subject: string;
  method: string;
  time_expire: string;
  notify_url: string;
  return_url?: string;
}

export interface SandboxTrade {
  out_trade_no: string;
  trade_no: string;
  trade_status: SandboxTradeStatus;
  total_amount: number;
  currency: string;
  pay_url: string;
  gmt_payment?: string;
}

export interface SandboxNotification {
  notify_id: string;
  out_trade_no: string;
  trade_no: string;
  trade_status: SandboxTradeStatus;
  total_amount: number;
  currency: string;
  gmt_payment?: string;
}

export type SandboxRefundStatus = 'REFUND_PROCESSING' | 'REFUND_SUCCESS' | 'REFUND_CLOSED';

export interface SandboxRefundRequest {
  out_trade_no: string;
  /** The refund's idempotency key: a repeat answers the same refund. */
  out_request_no: string;
  refund_amount: number;
}

export interface SandboxRefund {
  out_trade_no: string;
  out_request_no: string;
  refund_amount: number;
  refund_status: SandboxRefundStatus;
}

/** The sandbox bill: one CSV line per payment or refund booked that day (Beijing time). */
export const sandboxBillColumns = [
  'kind',
  'out_trade_no',
  'trade_no',
  'amount',
  'currency',
  'out_request_no',
  'time',
] as const;

/** Error codes the gateway answers with, as `{ code, message }`. */
export type SandboxErrorCode =
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

export function sign(secret: string, timestamp: string, body: string): string {
  return createHmac('sha256', secret).update(`${timestamp}\n${body}`).digest('base64');
}

export function signedHeaders(appId: string, secret: string, body: string, nowMs: number) {
  const timestamp = String(nowMs);
  return {
    [sandboxHeaders.appId]: appId,
    [sandboxHeaders.timestamp]: timestamp,
    [sandboxHeaders.signature]: sign(secret, timestamp, body),
  };
}

function header(headers: Record<string, string | string[] | undefined>, name: string) {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** True only for a body signed with `secret` within the tolerance window. Constant-time compare. */
export function verifySignature(
  secret: string,
  headers: Record<string, string | string[] | undefined>,
  body: string,
  nowMs: number,
): boolean {
  const timestamp = header(headers, sandboxHeaders.timestamp);
  const signature = header(headers, sandboxHeaders.signature);
  if (!timestamp || !signature || !/^\d{1,15}$/.test(timestamp)) return false;
  if (Math.abs(nowMs - Number(timestamp)) > signatureToleranceMs) return false;
  const expected = Buffer.from(sign(secret, timestamp, body));
  const given = Buffer.from(signature);
  return expected.length === given.length && timingSafeEqual(expected, given);
}
