// The sandbox channel's wire protocol: JSON bodies, HMAC-SHA256 over "timestamp\nbody" with the
// app's secret, Alipay-like trade statuses. Our adapter speaks it, and so does the simulator's
// sandbox face (simulator/faces/sandbox.ts), which signs and verifies with these helpers.
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

export type SandboxRefundStatus = 'REFUND_PROCESSING' | 'REFUND_SUCCESS' | 'REFUND_CLOSED';

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
