// Request and answer shapes of the merchant API's pay orders (/v1/pay-orders): the routes
// validate with them and the OpenAPI document is generated from them.
import { z } from 'zod';
import { amountSchema, currencySchema } from '../../domain/money';
import { attemptStatuses } from '../../domain/payOrder';
import {
  httpUrlSchema,
  merchantNoSchema,
  payOrderIdPattern,
  payOrderIdSchema,
  payOrderStatusSchema,
  type PayOrderLimits,
} from '../../domain/schemas';
import { deliveryTrySchema } from './events';
import { createdWindowFields, createdWindowInOrder, listSchema, pageFields } from './listing';

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

export const listPayOrdersQuerySchema = z
  .object({
    status: payOrderStatusSchema.optional(),
    needsAttention: z
      .enum(['true', 'false'], { error: 'must be true or false' })
      .transform((text) => text === 'true')
      .optional(),
    ...createdWindowFields('orders'),
    merchantOrderNo: merchantNoSchema
      .optional()
      .meta({ description: "Exact lookup by the merchant's own order number." }),
    ...pageFields(payOrderIdPattern),
  })
  .strict()
  .superRefine(createdWindowInOrder);

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

export const payOrderListSchema = listSchema(payOrderSummarySchema);

const merchantNotificationViewSchema = z.object({
  eventId: z.string(),
  type: z.string().meta({ description: 'pay_order.succeeded, pay_order.closed, ...' }),
  status: z.string().meta({ description: 'PENDING, DELIVERED or FAILED' }),
  attempts: z.array(deliveryTrySchema),
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
