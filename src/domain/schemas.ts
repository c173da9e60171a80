// Request schemas of the merchant API; the same schemas validate and describe the API.
import { z } from 'zod';
import { amountSchema, currencySchema } from './money';

const httpUrl = z
  .url({ protocol: /^https?$/, error: 'must be an http(s) URL' })
  .max(2048, 'must be at most 2048 characters');

export interface PayOrderLimits {
  maxAmount: number;
  maxExpiresInSeconds: number;
}

export function createPayOrderSchema(limits: PayOrderLimits) {
  return z
    .object({
      merchantOrderNo: z
        .string()
        .regex(/^[A-Za-z0-9_\-.:]{1,64}$/, 'must be 1-64 letters, digits or _-.:'),
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
