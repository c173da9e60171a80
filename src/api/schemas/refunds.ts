// Request and answer shapes of the merchant API's refunds (/v1/refunds).
import { z } from 'zod';
import { amountSchema } from '../../domain/money';
import {
  merchantNoSchema,
  payOrderIdSchema,
  refundIdSchema,
  type PayOrderLimits,
} from '../../domain/schemas';

/** A merchant refund of a paid order, partial or full; idempotent by merchantRefundNo. */
export function createRefundSchema(limits: Pick<PayOrderLimits, 'maxAmount'>) {
  return z
    .object({
      payOrderId: payOrderIdSchema,
      merchantRefundNo: merchantNoSchema,
      amount: amountSchema(limits.maxAmount),
      reason: z.string().max(256, 'must be at most 256 characters').optional(),
    })
    .strict();
}

export const refundIdParamSchema = z.object({ id: refundIdSchema });

export const refundLookupSchema = z.object({ merchantRefundNo: merchantNoSchema }).strict();

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
