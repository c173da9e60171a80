// Request and answer shapes of the merchant API's refunds (/v1/refunds).
import { z } from 'zod';
import { amountSchema } from '../../domain/money';
import { merchantRefundReason } from '../../domain/moneyInvariant';
import { extraPaymentReasons } from '../../domain/payOrder';
import {
  merchantNoSchema,
  payOrderIdSchema,
  refundIdPattern,
  refundIdSchema,
  type PayOrderLimits,
} from '../../domain/schemas';
import { createdWindowFields, createdWindowInOrder, listSchema, pageFields } from './listing';

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

export const refundStatuses = ['PROCESSING', 'SUCCEEDED', 'FAILED'] as const;
const refundReasons = [merchantRefundReason, ...extraPaymentReasons] as const;

export const listRefundsQuerySchema = z
  .object({
    payOrderId: payOrderIdSchema
      .optional()
      .meta({ description: 'Only the refunds of this order.' }),
    status: z
      .enum(refundStatuses, { error: () => `must be one of: ${refundStatuses.join(', ')}` })
      .optional(),
    reason: z
      .enum(refundReasons, { error: () => `must be one of: ${refundReasons.join(', ')}` })
      .optional()
      .meta({
        description:
          'MERCHANT_REQUEST: the refunds the merchant asked for (whatever their own reason); ' +
          'DUPLICATE_PAYMENT, LATE_PAYMENT, AMOUNT_MISMATCH: the money paycenter returned by itself.',
      }),
    merchantRefundNo: merchantNoSchema
      .optional()
      .meta({ description: "Exact lookup by the merchant's own refund number." }),
    ...createdWindowFields('refunds'),
    ...pageFields(refundIdPattern),
  })
  .strict()
  .superRefine(createdWindowInOrder);

/** A refund as the merchant API answers it. */
export const refundViewSchema = z.object({
  id: z.string(),
  payOrderId: z.string(),
  merchantRefundNo: z.string().nullable(),
  amount: z.number().int(),
  currency: z.string(),
  /** The merchant's words for its own refunds; LATE_PAYMENT or DUPLICATE_PAYMENT for paycenter's. */
  reason: z.string().nullable(),
  status: z.enum(refundStatuses),
  createdAt: z.iso.datetime(),
});

export const refundListSchema = listSchema(refundViewSchema);
