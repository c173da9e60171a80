// How merchants know a notification came from paycenter: HMAC-SHA256 with their notify secret over
// "timestamp.body", sent as `Paycenter-Signature: t=<unix seconds>,v1=<hex>`. While a rotated
// secret overlaps with the previous one, one v1 per secret: `t=…,v1=<new>,v1=<old>`.
import { createHmac, timingSafeEqual } from 'node:crypto';

export const merchantSignatureHeader = 'paycenter-signature';
export const merchantEventIdHeader = 'paycenter-event-id';

function digest(secret: string, timestamp: string, body: string): string {
  return createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex');
}

export function signMerchantNotification(secrets: string[], body: string, nowMs: number): string {
  const timestamp = String(Math.floor(nowMs / 1000));
  return [`t=${timestamp}`, ...secrets.map((s) => `v1=${digest(s, timestamp, body)}`)].join(',');
}

/**
 * What a merchant's endpoint should do: true only when one of the v1 signatures is ours with its
 * secret, made within `toleranceSeconds`.
 */
export function verifyMerchantNotification(
  secret: string,
  body: string,
  header: string | undefined,
  nowMs: number,
  toleranceSeconds = 300,
): boolean {
  const parts = (header ?? '').split(',').map((part) => part.split('=', 2) as [string, string?]);
  const timestamp = parts.find(([name]) => name === 't')?.[1];
  const signatures = parts.filter(([name, value]) => name === 'v1' && value).map(([, v]) => v!);
  if (!timestamp || signatures.length === 0 || !/^\d+$/.test(timestamp)) return false;
  if (Math.abs(nowMs / 1000 - Number(timestamp)) > toleranceSeconds) return false;
  const expected = Buffer.from(digest(secret, timestamp, body));
  return signatures.some((signature) => {
    const given = Buffer.from(signature);
    return expected.length === given.length && timingSafeEqual(expected, given);
  });
}
