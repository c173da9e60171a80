// Request schemas of the merchant API; the same schemas validate and describe the API.
import { z } from 'zod';
import { amountSchema, currencySchema } from './money';
import { attemptStatuses, payStatuses } from './payOrder';
import { isCalendarDay } from './reconciliation';

const httpUrl = z
  .url({ protocol: /^https?$/, error: 'must be an http(s) URL' })
  .max(2048, 'must be at most 2048 characters');

export interface PayOrderLimits {
  maxAmount: number;
  maxExpiresInSeconds: number;
}

/** The merchant's own key for an order or a refund: their idempotency key. */
const merchantNo = z
  .string()
  .regex(/^[A-Za-z0-9_\-.:]{1,64}$/, 'must be 1-64 letters, digits or _-.:');

export function createPayOrderSchema(limits: PayOrderLimits) {
  return z
    .object({
      merchantOrderNo: merchantNo,
      amount: amountSchema(limits.maxAmount),
      currency: currencySchema,
      subject: z.string().trim().min(1, 'must not be empty').max(256),
      expiresInSeconds: z
        .number()
        .int('must be a whole number of seconds')
        .min(1, 'must be at least 1 second')
        .max(limits.maxExpiresInSeconds, `must be at most ${limits.maxExpiresInSeconds} seconds`)
        .optional(),
      notifyUrl: httpUrl.optional(),
      returnUrl: httpUrl.optional(),
    })
    .strict();
}
export type CreatePayOrderRequest = z.infer<ReturnType<typeof createPayOrderSchema>>;

export const payRequestSchema = z
  .object({
    channel: z.string().min(1).max(32),
    method: z.string().min(1).max(32).optional(),
    /** The payer's ID at the channel, for methods that need one (WeChat Pay JSAPI: openid). */
    payerId: z
      .string()
      .regex(/^[A-Za-z0-9_-]{1,128}$/, 'must be 1-128 letters, digits, _ or -')
      .optional(),
  })
  .strict();

export const idParamSchema = z.object({
  id: z.string().regex(/^po_[0-9A-Z]{26}$/, 'is not a pay order ID'),
});

/** A merchant refund of a paid order, partial or full; idempotent by merchantRefundNo. */
export function createRefundSchema(limits: Pick<PayOrderLimits, 'maxAmount'>) {
  return z
    .object({
      payOrderId: idParamSchema.shape.id,
      merchantRefundNo: merchantNo,
      amount: amountSchema(limits.maxAmount),
      reason: z.string().max(256, 'must be at most 256 characters').optional(),
    })
    .strict();
}
export type CreateRefundRequest = z.infer<ReturnType<typeof createRefundSchema>>;

export const refundIdParamSchema = z.object({
  id: z.string().regex(/^rf_[0-9A-Z]{26}$/, 'is not a refund ID'),
});

export const refundLookupSchema = z.object({ merchantRefundNo: merchantNo }).strict();

/** A refund as the merchant API answers it. */
export const refundViewSchema = z.object({
  id: z.string(),
  payOrderId: z.string(),
  merchantRefundNo: z.string().nullable(),
  amount: z.number().int(),
  currency: z.string(),
  /** The merchant's words for its own refunds; LATE_PAYMENT or DUPLICATE_PAYMENT for paycenter's. */
  reason: z.string().nullable(),
  status: z.enum(['PROCESSING', 'SUCCEEDED', 'FAILED']),
});

// ---- Listing pay orders (GET /v1/pay-orders) ----

export const payOrderStatusSchema = z.enum(payStatuses, {
  error: () => `must be one of: ${payStatuses.join(', ')}`,
});

/** Where a page ends: the last item's creation time (microseconds, UTC) and ID. */
export interface ListCursor {
  createdAt: string;
  id: string;
}

const cursorTimestamp = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;
const cursorIdPattern = /^po_[0-9A-Z]{26}$/;

/** The opaque `nextCursor`: base64url of `[createdAt, id]`, newest first. */
export function encodeListCursor(cursor: ListCursor): string {
  return Buffer.from(JSON.stringify([cursor.createdAt, cursor.id])).toString('base64url');
}

export function decodeListCursor(text: string): ListCursor | undefined {
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
      cursorIdPattern.test(value[1])
    ) {
      return { createdAt: value[0], id: value[1] };
    }
  } catch {
    // not JSON: falls through to "not a cursor"
  }
  return undefined;
}

const isoDateTime = z.iso
  .datetime({ offset: true, error: 'must be an ISO 8601 date-time, e.g. 2026-01-31T08:00:00Z' })
  .transform((text) => new Date(text));

export const listPayOrdersQuerySchema = z
  .object({
    status: payOrderStatusSchema.optional(),
    needsAttention: z
      .enum(['true', 'false'], { error: 'must be true or false' })
      .transform((text) => text === 'true')
      .optional(),
    createdFrom: isoDateTime
      .optional()
      .meta({ description: 'Only orders created at or after this instant (inclusive).' }),
    createdTo: isoDateTime
      .optional()
      .meta({ description: 'Only orders created before this instant (exclusive).' }),
    merchantOrderNo: merchantNo
      .optional()
      .meta({ description: "Exact lookup by the merchant's own order number." }),
    limit: z.coerce
      .number({ error: 'must be a whole number from 1 to 100' })
      .int('must be a whole number from 1 to 100')
      .min(1, 'must be at least 1')
      .max(100, 'must be at most 100')
      .default(20)
      .meta({ description: 'Page size, 1-100 (default 20).' }),
    cursor: z
      .string()
      .max(512, 'is not a cursor from this API')
      .transform((text, ctx) => {
        const cursor = decodeListCursor(text);
        if (cursor) return cursor;
        ctx.issues.push({
          code: 'custom',
          message: 'is not a cursor from this API (pass nextCursor as it came)',
          input: text,
        });
        return z.NEVER;
      })
      .optional()
      .meta({ description: 'The `nextCursor` of the previous page, as it came.' }),
  })
  .strict()
  .superRefine((query, ctx) => {
    if (query.createdFrom && query.createdTo && query.createdFrom > query.createdTo) {
      ctx.addIssue({
        code: 'custom',
        path: ['createdTo'],
        message: 'must not be before createdFrom',
      });
    }
  });
export type ListPayOrdersQuery = z.output<typeof listPayOrdersQuerySchema>;

// ---- Response shapes: the services' answers are typed by these, and OpenAPI shows them ----

export const payOrderSummarySchema = z.object({
  id: z.string(),
  status: payOrderStatusSchema,
  merchantOrderNo: z.string(),
  amount: z.number().int(),
  currency: currencySchema,
  subject: z.string(),
  createdAt: z.iso.datetime(),
  expiresAt: z.iso.datetime(),
  cashierUrl: z.string(),
});
export type PayOrderSummary = z.infer<typeof payOrderSummarySchema>;

export const payOrderListSchema = z.object({
  items: z.array(payOrderSummarySchema),
  nextCursor: z
    .string()
    .nullable()
    .meta({ description: 'Pass as `cursor` for the next (older) page; null on the last page.' }),
});
export type PayOrderList = z.infer<typeof payOrderListSchema>;

export const merchantNotificationViewSchema = z.object({
  eventId: z.string(),
  type: z.string().meta({ description: 'pay_order.succeeded, pay_order.closed, ...' }),
  status: z.string().meta({ description: 'PENDING, DELIVERED or FAILED' }),
  attempts: z.array(
    z.object({
      attemptNo: z.number().int(),
      responseStatus: z.number().int().nullable(),
      error: z.string().nullable().meta({
        description:
          'why the try failed: HTTP_3XX, HTTP_4XX, HTTP_5XX, TIMEOUT, CONNECTION_REFUSED, ADDRESS_NOT_ALLOWED, ...',
      }),
      attemptedAt: z.iso.datetime(),
    }),
  ),
});

export const payOrderViewSchema = payOrderSummarySchema.extend({
  needsAttention: z.boolean(),
  paidAt: z.iso.datetime().nullable(),
  attempts: z.array(
    z.object({
      id: z.string(),
      outTradeNo: z.string(),
      channel: z.string(),
      method: z.string(),
      status: z.enum(attemptStatuses),
      amount: z.number().int(),
      paidAmount: z
        .number()
        .int()
        .optional()
        .meta({ description: 'What the payer paid, when not `amount` (AMOUNT_MISMATCH)' }),
    }),
  ),
  refunds: z.array(
    z.object({
      id: z.string(),
      attemptId: z.string().meta({ description: 'The channel order refunded' }),
      amount: z.number().int(),
      reason: z.string(),
      status: z.string(),
    }),
  ),
  notifications: z.array(merchantNotificationViewSchema),
});
export type PayOrderViewResponse = z.infer<typeof payOrderViewSchema>;

export const payAnswerSchema = z.object({
  attempt: z.object({
    id: z.string(),
    outTradeNo: z.string(),
    channel: z.string(),
    method: z.string(),
    status: z.enum(attemptStatuses),
    payUrl: z.string().optional().meta({ description: "The payer's page at the channel" }),
    payParams: z
      .record(z.string(), z.string())
      .optional()
      .meta({ description: "Signed parameters for the payer's page (WeChat Pay JSAPI)" }),
  }),
});

// ---- Operators managing merchants (/ops/merchants) ----

export const createMerchantSchema = z
  .object({
    name: z.string().trim().min(1, 'must not be empty').max(128, 'must be at most 128 characters'),
  })
  .strict();

/** Merchant IDs are `mch_` plus letters, digits or _ (the demo merchant is `mch_demo`). */
export const merchantIdParamSchema = z.object({
  id: z.string().regex(/^mch_[A-Za-z0-9_]{1,64}$/, 'is not a merchant ID'),
});

export const merchantKeyParamSchema = merchantIdParamSchema.extend({
  keyId: z.string().regex(/^key_[0-9A-Z]{26}$/, 'is not an API key ID'),
});

/** A request that takes no options: an empty body (or none) is the only valid one. */
const noOptionsSchema = z.object({}).strict();
export const issueApiKeySchema = noOptionsSchema;
export const rotateNotifySecretSchema = noOptionsSchema;

const channelName = z.string().regex(/^[a-z][a-z0-9_-]{0,31}$/, 'is not a channel name');
const calendarDay = z
  .string()
  .refine(isCalendarDay, 'must be a calendar day written yyyy-MM-dd, e.g. 2026-11-24');

/** Reconcile (or reconcile again) one channel's statement of one day. */
export const reconcileRequestSchema = z.object({ channel: channelName, day: calendarDay }).strict();

export const reconciliationListQuerySchema = z
  .object({ channel: channelName, day: calendarDay })
  .partial()
  .strict();

export const reconciliationParamSchema = z.object({ channel: channelName, day: calendarDay });

export const differenceIdParamSchema = z.object({
  id: z.string().regex(/^dif_[0-9A-Z]{26}$/, 'is not a difference ID'),
});

/** An operator's resolution of a difference: what was decided, in their words. */
export const resolveDifferenceSchema = z
  .object({ note: z.string().trim().min(1, 'must say what was decided').max(2000) })
  .strict();

// ---- Operators and the audit log (/ops/audit, /ops/pay-orders/{id}/clear-attention) ----

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
] as const;
export type AuditAction = (typeof auditActions)[number];

/** A named ops key's operator: letters, digits, `.`, `_`, `-` (the name the audit log records). */
export const operatorNameSchema = z
  .string()
  .trim()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'must be 1-64 letters, digits, ".", "_" or "-"');

export const auditListQuerySchema = z
  .object({
    operator: operatorNameSchema,
    action: z.enum(auditActions),
    subjectType: z.string().regex(/^[a-z_]{1,64}$/, 'is not a subject type'),
    subjectId: z.string().min(1).max(128),
    cursor: z.coerce.number().int().positive('is not a cursor of this listing'),
    limit: z.coerce.number().int().min(1).max(200),
  })
  .partial()
  .strict();

/** Why an operator clears NeedsAttention, in their words. */
export const clearAttentionSchema = z
  .object({
    note: z.string().trim().min(1, 'must say why the order needs no more attention').max(2000),
  })
  .strict();
