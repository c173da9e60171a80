// The domain's building blocks for input: ID shapes, the merchant's own numbers, channel names,
// calendar days, operators' names, the list cursor. The API's request and response schemas
// (src/api/schemas) and the CLI compose them.
import { z } from 'zod';
import { payStatuses } from './payOrder';
import { isCalendarDay } from './reconciliation';

export const httpUrlSchema = z
  .url({ protocol: /^https?$/, error: 'must be an http(s) URL' })
  .max(2048, 'must be at most 2048 characters');

export interface PayOrderLimits {
  maxAmount: number;
  maxExpiresInSeconds: number;
}

/** The merchant's own key for an order or a refund: their idempotency key. */
export const merchantNoSchema = z
  .string()
  .regex(/^[A-Za-z0-9_\-.:]{1,64}$/, 'must be 1-64 letters, digits or _-.:');

export const payOrderIdPattern = /^po_[0-9A-Z]{26}$/;
export const payOrderIdSchema = z.string().regex(payOrderIdPattern, 'is not a pay order ID');
export const refundIdPattern = /^rf_[0-9A-Z]{26}$/;
export const refundIdSchema = z.string().regex(refundIdPattern, 'is not a refund ID');
export const eventIdPattern = /^evt_[0-9A-Z]{26}$/;
export const eventIdSchema = z.string().regex(eventIdPattern, 'is not an event ID');
/** Merchant IDs are `mch_` plus letters, digits or _ (the demo merchant is `mch_demo`). */
export const merchantIdSchema = z
  .string()
  .regex(/^mch_[A-Za-z0-9_]{1,64}$/, 'is not a merchant ID');
export const apiKeyIdSchema = z.string().regex(/^key_[0-9A-Z]{26}$/, 'is not an API key ID');
export const differenceIdSchema = z.string().regex(/^dif_[0-9A-Z]{26}$/, 'is not a difference ID');

export const payOrderStatusSchema = z.enum(payStatuses, {
  error: () => `must be one of: ${payStatuses.join(', ')}`,
});

export const channelNameSchema = z
  .string()
  .regex(/^[a-z][a-z0-9_-]{0,31}$/, 'is not a channel name');
export const calendarDaySchema = z
  .string()
  .refine(isCalendarDay, 'must be a calendar day written yyyy-MM-dd, e.g. 2026-11-24');

/** One channel's statement of one day: what a reconciliation run reconciles. */
export const channelDaySchema = z
  .object({ channel: channelNameSchema, day: calendarDaySchema })
  .strict();

// ---- The list cursor of the merchant API's lists (pay orders, refunds, events) ----

/** Where a page ends: the last item's creation time (microseconds, UTC) and ID. */
export interface ListCursor {
  createdAt: string;
  id: string;
}

const cursorTimestamp = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;

/** The opaque `nextCursor`: base64url of `[createdAt, id]`, newest first. */
export function encodeListCursor(cursor: ListCursor): string {
  return Buffer.from(JSON.stringify([cursor.createdAt, cursor.id])).toString('base64url');
}

/** The cursor in `text`, when it is one of a list whose items have IDs of `idPattern`. */
export function decodeListCursor(text: string, idPattern: RegExp): ListCursor | undefined {
  if (!/^[A-Za-z0-9_-]+$/.test(text)) return undefined;
  try {
    const value: unknown = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
    if (
      Array.isArray(value) &&
      value.length === 2 &&
      typeof value[0] === 'string' &&
      typeof value[1] === 'string' &&
      cursorTimestamp.test(value[0]) &&
      !Number.isNaN(Date.parse(value[0])) &&
      idPattern.test(value[1])
    ) {
      return { createdAt: value[0], id: value[1] };
    }
  } catch {
    // not JSON: falls through to "not a cursor"
  }
  return undefined;
}

// ---- Operators and the audit log ----

/** Everything an operator can do that the audit log records. */
export const auditActions = [
  'merchant.create',
  'merchant.rotate_notify_secret',
  'merchant_key.issue',
  'merchant_key.revoke',
  'operator_key.create',
  'operator_key.revoke',
  'reconciliation.run',
  'reconciliation_difference.resolve',
  'safety_net.scan',
  'pay_order.clear_attention',
  'pay_order.sync',
  'merchant_event.redeliver',
  'operator.sign_in',
  'operator.sign_out',
] as const;
export type AuditAction = (typeof auditActions)[number];

/** A named ops key's operator: letters, digits, `.`, `_`, `-` (the name the audit log records). */
export const operatorNameSchema = z
  .string()
  .trim()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'must be 1-64 letters, digits, ".", "_" or "-"');
