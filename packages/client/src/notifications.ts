// The check a merchant's notify endpoint makes before it believes a notification: paycenter signs
// "<unix seconds>.<raw body>" with HMAC-SHA256 under the merchant's notify secret and sends
// `Paycenter-Signature: t=<seconds>,v1=<hex>` (one v1 per secret while a rotated secret overlaps),
// with the event's ID in `Paycenter-Event-Id`. Node's crypto only.
import { createHmac, timingSafeEqual } from 'node:crypto';

export const signatureHeader = 'paycenter-signature';
export const eventIdHeader = 'paycenter-event-id';

export type PaycenterEventType = 'pay_order.succeeded' | 'pay_order.closed' | 'pay_order.refunded';

/** What paycenter tells a merchant. `id` stays the same across redeliveries: deduplicate by it. */
export interface PaycenterEvent {
  id: string;
  type: PaycenterEventType;
  createdAt: string;
  data: {
    payOrderId: string;
    merchantOrderNo: string;
    status: string;
    /** Minor units (cents, fen). */
    amount: number;
    currency: string;
    refund?: { id: string; amount: number; reason: string; status: string };
  };
}

export type RejectionReason =
  'NO_SIGNATURE' | 'STALE_TIMESTAMP' | 'BAD_SIGNATURE' | 'EVENT_ID_MISMATCH' | 'MALFORMED_BODY';

/** A notification that is not paycenter's, or not as paycenter sent it: answer 4xx, act on nothing. */
export class NotificationRejected extends Error {
  constructor(
    readonly reason: RejectionReason,
    message: string,
  ) {
    super(message);
    this.name = 'NotificationRejected';
  }
}

/** Headers as Node's http, Fetch's `Headers`, or a plain object give them. */
export type HeaderSource =
  { get(name: string): string | null } | Record<string, string | string[] | undefined>;

function headerOf(headers: HeaderSource, name: string): string | undefined {
  if (typeof headers.get === 'function') {
    return (headers as { get(name: string): string | null }).get(name) ?? undefined;
  }
  const plain = headers as Record<string, string | string[] | undefined>;
  const key = Object.keys(plain).find((k) => k.toLowerCase() === name);
  const value = key === undefined ? undefined : plain[key];
  return Array.isArray(value) ? value[0] : value;
}

export interface VerifyOptions {
  /** How old a signature may be; 300 seconds by default, as paycenter's own check. */
  toleranceSeconds?: number;
  /** The time to check against; now by default. */
  now?: Date;
}

/**
 * The event a notification carries, once its signature is paycenter's under one of `secrets`
 * (pass the old and the new while you rotate) and made within the tolerance; else throws
 * NotificationRejected. `rawBody` must be the body exactly as received, before any JSON parsing.
 */
export function verifyNotification(
  rawBody: string | Uint8Array,
  headers: HeaderSource,
  secrets: string | readonly string[],
  options: VerifyOptions = {},
): PaycenterEvent {
  const body = typeof rawBody === 'string' ? rawBody : Buffer.from(rawBody).toString('utf8');
  const header = headerOf(headers, signatureHeader);
  if (!header) throw new NotificationRejected('NO_SIGNATURE', `no ${signatureHeader} header`);
  const fields = header.split(',').map((part) => {
    const at = part.indexOf('=');
    return at < 0 ? ['', ''] : [part.slice(0, at).trim(), part.slice(at + 1).trim()];
  });
  const timestamp = fields.find(([name]) => name === 't')?.[1] ?? '';
  const signatures = fields.filter(([name, value]) => name === 'v1' && value).map(([, v]) => v!);
  if (!/^\d+$/.test(timestamp) || signatures.length === 0) {
    throw new NotificationRejected('NO_SIGNATURE', `${signatureHeader} has no t= and v1=`);
  }
  const nowSeconds = (options.now ?? new Date()).getTime() / 1000;
  if (Math.abs(nowSeconds - Number(timestamp)) > (options.toleranceSeconds ?? 300)) {
    throw new NotificationRejected('STALE_TIMESTAMP', 'the signature is too old (or too new)');
  }
  const signed = `${timestamp}.${body}`;
  const matches = [secrets].flat().some((secret) => {
    const expected = Buffer.from(createHmac('sha256', secret).update(signed).digest('hex'));
    return signatures.some((signature) => {
      const given = Buffer.from(signature);
      return given.length === expected.length && timingSafeEqual(given, expected);
    });
  });
  if (!matches) throw new NotificationRejected('BAD_SIGNATURE', 'no signature matches the secret');
  let event: PaycenterEvent;
  try {
    event = JSON.parse(body) as PaycenterEvent;
  } catch {
    throw new NotificationRejected('MALFORMED_BODY', 'the signed body is not JSON');
  }
  if (typeof event?.id !== 'string' || typeof event.type !== 'string' || !event.data) {
    throw new NotificationRejected('MALFORMED_BODY', 'the signed body is not an event');
  }
  const eventId = headerOf(headers, eventIdHeader);
  if (eventId !== undefined && eventId !== event.id) {
    throw new NotificationRejected('EVENT_ID_MISMATCH', `${eventIdHeader} is not the body's id`);
  }
  return event;
}
