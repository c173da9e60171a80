// Request and answer shapes of the operators' API (/ops): merchants and their keys,
// reconciliation, NeedsAttention, the audit log and the safety net.
import { z } from 'zod';
import { currencySchema } from '../../domain/money';
import { pageFields } from './listing';
import {
  apiKeyIdSchema,
  auditActions,
  calendarDaySchema,
  channelDaySchema,
  channelNameSchema,
  differenceIdSchema,
  merchantIdSchema,
  operatorNameSchema,
  payOrderIdPattern,
  payOrderIdSchema,
  payOrderStatusSchema,
} from '../../domain/schemas';

// ---- Merchants and their keys (/ops/merchants) ----

export const createMerchantSchema = z
  .object({
    name: z.string().trim().min(1, 'must not be empty').max(128, 'must be at most 128 characters'),
  })
  .strict();

export const merchantIdParamSchema = z.object({ id: merchantIdSchema });

export const merchantKeyParamSchema = merchantIdParamSchema.extend({ keyId: apiKeyIdSchema });

/** A request that takes no options: an empty body (or none) is the only valid one. */
export const noOptionsSchema = z.object({}).strict();

export const apiKeyViewSchema = z.object({
  id: z.string(),
  prefix: z.string().meta({ description: 'The start of the key, to recognise it' }),
  createdAt: z.iso.datetime(),
  revokedAt: z.iso.datetime().nullable(),
});

const merchantViewSchema = z.object({
  id: z.string(),
  name: z.string(),
  createdAt: z.iso.datetime(),
});

export const issuedApiKeySchema = z
  .object({ id: z.string(), key: z.string(), prefix: z.string() })
  .meta({ description: 'The key itself is answered only here, once' });

export const createdMerchantSchema = z.object({
  merchant: merchantViewSchema,
  apiKey: issuedApiKeySchema,
  notifySecret: z.string().meta({ description: 'Answered only here, once' }),
});

export const merchantWithKeysSchema = merchantViewSchema.extend({
  keys: z.array(apiKeyViewSchema),
});

export const rotatedNotifySecretSchema = z.object({
  merchantId: z.string(),
  notifySecret: z.string().meta({ description: 'The new secret, answered only here, once' }),
  previousSecretValidUntil: z.iso.datetime(),
});

// ---- What needs a human (/ops/exceptions, /ops/pay-orders/{id}/clear-attention) ----

/** The flag's code as operators filter by it: AttentionReason's values. */
export const attentionCodeSchema = z
  .string()
  .regex(/^[A-Z][A-Z0-9_]{0,63}$/, 'is not an attention code (e.g. DUPLICATE_PAYMENT)');

export const exceptionListQuerySchema = z
  .object({
    merchantId: merchantIdSchema.optional(),
    code: attentionCodeSchema.optional(),
    status: payOrderStatusSchema.optional(),
    ...pageFields(payOrderIdPattern),
  })
  .strict();

export const exceptionListSchema = z.object({
  items: z.array(
    z.object({
      id: z.string(),
      merchantId: z.string(),
      merchantOrderNo: z.string(),
      status: payOrderStatusSchema,
      amount: z.number().int(),
      currency: currencySchema,
      attentionCode: z
        .string()
        .nullable()
        .meta({ description: 'Why, as a code (AttentionReason); null if flagged before codes' }),
      attentionReason: z.string().nullable(),
      flaggedAt: z.iso.datetime(),
      channel: z
        .string()
        .nullable()
        .meta({ description: 'The channel it was paid on, else the last offered' }),
      updatedAt: z.iso.datetime(),
    }),
  ),
  nextCursor: z.string().nullable(),
});

export const payOrderIdParamSchema = z.object({ id: payOrderIdSchema });

/** Why an operator clears NeedsAttention, in their words. */
export const clearAttentionSchema = z
  .object({
    note: z.string().trim().min(1, 'must say why the order needs no more attention').max(2000),
  })
  .strict();

export const clearedAttentionSchema = z.object({
  id: z.string(),
  needsAttention: z.literal(false),
  cleared: z
    .boolean()
    .meta({ description: 'False when the order did not need attention: nothing changed' }),
  writtenBy: z.enum(['WORKFLOW', 'OPERATOR']).nullable(),
});

// ---- Reconciliation (/ops/reconciliations, /ops/reconciliation-differences) ----

/** Reconcile (or reconcile again) one channel's statement of one day. */
export const reconcileRequestSchema = channelDaySchema;

export const reconciliationListQuerySchema = channelDaySchema.partial();

export const reconciliationParamSchema = z.object({
  channel: channelNameSchema,
  day: calendarDaySchema,
});

export const differenceIdParamSchema = z.object({ id: differenceIdSchema });

/** An operator's resolution of a difference: what was decided, in their words. */
export const resolveDifferenceSchema = z
  .object({ note: z.string().trim().min(1, 'must say what was decided').max(2000) })
  .strict();

/** A run's report (src/domain/reconciliation.ts `ReconciliationReport`), described by its heads. */
export const reconciliationReportSchema = z
  .object({
    channel: z.string(),
    day: z.string(),
    statementId: z.string(),
    statementLines: z.number().int(),
    run: z.number().int(),
    settledSinceLastRun: z.number().int(),
  })
  .meta({
    description:
      'Matched totals, differences by class, and the items auto-corrected, for operators, held and settled',
  });

export const differenceSchema = z.object({
  id: z.string(),
  channel: z.string(),
  day: z.string(),
  kind: z.string(),
  reference: z.string(),
  payOrderId: z.string().nullable(),
  resolution: z.string(),
  urgent: z.boolean(),
  note: z.string().nullable(),
  createdAt: z.iso.datetime(),
  resolvedAt: z.iso.datetime().nullable(),
});

export const differenceListSchema = z.object({ items: z.array(differenceSchema) });

const reconciliationRunSchema = z.object({
  channel: z.string(),
  day: z.string(),
  status: z.string(),
  runs: z.number().int(),
});

export const reconciliationListSchema = z.object({
  items: z.array(
    reconciliationRunSchema.extend({
      startedAt: z.iso.datetime(),
      finishedAt: z.iso.datetime().nullable(),
    }),
  ),
});

export const reconciliationDaySchema = reconciliationRunSchema.extend({
  differences: z.array(differenceSchema),
});

// ---- The audit log (/ops/audit) ----

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

export const auditListSchema = z.object({
  items: z.array(
    z.object({
      id: z.number().int(),
      at: z.iso.datetime(),
      operator: z.string(),
      action: z.string(),
      subject: z.object({ type: z.string(), id: z.string() }),
      before: z.unknown(),
      after: z.unknown(),
      note: z.string().nullable(),
    }),
  ),
  nextCursor: z.number().int().nullable(),
});

// ---- The safety net (/ops/safety-net) ----

/** A narrow scan names one merchant; an empty body (or none) scans every merchant. */
export const scanRequestSchema = z.object({ merchantId: merchantIdSchema.optional() }).strict();

export const safetyNetReportSchema = z.object({
  scannedAt: z.iso.datetime(),
  merchantId: z.string().optional(),
  autoCorrected: z.array(z.string()),
  flagged: z.array(z.string()),
  openFindings: z.number().int(),
});

export const findingListSchema = z.object({
  items: z.array(
    z.object({
      id: z.string(),
      check: z.string(),
      subject: z.string(),
      payOrderId: z.string().nullable(),
      timesSeen: z.number().int(),
      firstSeenAt: z.iso.datetime(),
      lastSeenAt: z.iso.datetime(),
    }),
  ),
});
