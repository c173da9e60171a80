// Request and answer shapes of the merchant API's pay orders (/v1/pay-orders): the routes
// validate with them and the OpenAPI document is generated from them.
import { z } from 'zod';
import { amountSchema, currencySchema } from '../../domain/money';
import { attemptStatuses } from '../../domain/payOrder';
import {
  decodeListCursor,
  httpUrlSchema,
  merchantNoSchema,
  payOrderIdSchema,
  payOrderStatusSchema,
  type PayOrderLimits,
} from '../../domain/schemas';

export function createPayOrderSchema(limits: PayOrderLimits) {
  return z
    .object({
      merchantOrderNo: merchantNoSchema,
      amount: amountSchema(limits.maxAmount),
      currency: currencySchema,
      subject: z.string().trim().min(1, 'must not be empty').max(256),
      expiresInSeconds: z
        .number()
        .int('must be a whole number of seconds')
        .min(1, 'must be at least 1 second')
        .max(limits.maxExpiresInSeconds, `must be at most ${limits.maxExpiresInSeconds} seconds`)
        .optional(),
      notifyUrl: httpUrlSchema.optional(),
      returnUrl: httpUrlSchema.optional(),
    })
    .strict();
}

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

export const idParamSchema = z.object({ id: payOrderIdSchema });

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
    merchantOrderNo: merchantNoSchema
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

// ---- Answers ----

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

export const payOrderListSchema = z.object({
  items: z.array(payOrderSummarySchema),
  nextCursor: z
    .string()
    .nullable()
    .meta({ description: 'Pass as `cursor` for the next (older) page; null on the last page.' }),
});

const merchantNotificationViewSchema = z.object({
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
