// How merchants know a notification came from paycenter: HMAC-SHA256 with their notify secret over
// "timestamp.body", sent as `Paycenter-Signature: t=<unix seconds>,v1=<hex>`.
import { createHmac, timingSafeEqual } from 'node:crypto';

export const merchantSignatureHeader = 'paycenter-signature';
export const merchantEventIdHeader = 'paycenter-event-id';

function digest(secret: string, timestamp: string, body: string): string {
  return createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex');
}

export function signMerchantNotification(secret: string, body: string, nowMs: number): string {
  const timestamp = String(Math.floor(nowMs / 1000));
  return `t=${timestamp},v1=${digest(secret, timestamp, body)}`;
}

/** What a merchant's endpoint should do: true only for our signature, made within `toleranceSeconds`. */
export function verifyMerchantNotification(
  secret: string,
  body: string,
  header: string | undefined,
  nowMs: number,
  toleranceSeconds = 300,
): boolean {
  const parts = Object.fromEntries(
    (header ?? '').split(',').map((part) => part.split('=', 2) as [string, string]),
  );
  const timestamp = parts.t;
  const signature = parts.v1;
  if (!timestamp || !signature || !/^\d+$/.test(timestamp)) return false;
  if (Math.abs(nowMs / 1000 - Number(timestamp)) > toleranceSeconds) return false;
  const expected = Buffer.from(digest(secret, timestamp, body));
  const given = Buffer.from(signature);
  return expected.length === given.length && timingSafeEqual(expected, given);
}
