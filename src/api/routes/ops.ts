// Operator endpoints (/ops): what needs a human, reconciliation, merchants with their API keys, and
// the audit log. Every change an operator makes here is recorded under their name (src/services/audit.ts).
import type { Client } from '@temporalio/client';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { Db } from '../../db/client';
import type { Mode } from '../../domain/modes';
import { listAudit } from '../../services/audit';
import { describeMerchant } from '../../services/merchants';
import {
  createMerchantAs,
  issueApiKeyAs,
  revokeApiKeyAs,
  rotateNotifySecretAs,
} from '../../services/operators';
import {
  clearPayOrderAttention,
  payOrdersNeedingAttention,
} from '../../services/payOrderAttention';
import type { ReconciliationService } from '../../services/reconciliations';
import type { SecretBox } from '../../services/secretBox';
import { operatorAuthentication } from '../auth';
import { problemResponses } from '../problems';
import {
  apiKeyViewSchema,
  auditListQuerySchema,
  auditListSchema,
  clearAttentionSchema,
  clearedAttentionSchema,
  createdMerchantSchema,
  createMerchantSchema,
  differenceIdParamSchema,
  differenceListSchema,
  differenceSchema,
  exceptionListQuerySchema,
  exceptionListSchema,
  issuedApiKeySchema,
  merchantIdParamSchema,
  merchantKeyParamSchema,
  merchantWithKeysSchema,
  noOptionsSchema,
  payOrderIdParamSchema,
  reconcileRequestSchema,
  reconciliationDaySchema,
  reconciliationListQuerySchema,
  reconciliationListSchema,
  reconciliationParamSchema,
  reconciliationReportSchema,
  resolveDifferenceSchema,
  rotatedNotifySecretSchema,
} from '../schemas/ops';

export const opsRoutes: FastifyPluginAsyncZod<{
  db: Db;
  opsKey?: string;
  /** The deployment's mode, whose keys the merchants are issued. */
  mode: Mode;
  temporal: Client;
  reconciliations: ReconciliationService;
  secretBox: SecretBox;
  notifySecretOverlapSeconds: number;
}> = async (app, options) => {
  const { db } = options;
  await app.register(operatorAuthentication, options);

  app.get(
    '/exceptions',
    {
      schema: {
        operationId: 'listExceptions',
        summary: 'Pay orders that need an operator (NeedsAttention), newest flag first',
        tags: ['Operations'],
        querystring: exceptionListQuerySchema,
        response: {
          200: exceptionListSchema.meta({ description: 'One page of flagged pay orders' }),
          ...problemResponses(400),
        },
      },
    },
    async (req) => payOrdersNeedingAttention(db, req.query),
  );

  app.post(
    '/pay-orders/:id/clear-attention',
    {
      schema: {
        operationId: 'clearAttention',
        summary: 'Clear a pay order’s NeedsAttention, saying why',
        tags: ['Operations'],
        params: payOrderIdParamSchema,
        body: clearAttentionSchema,
        response: {
          200: clearedAttentionSchema.meta({ description: 'What was cleared, and by whom' }),
          ...problemResponses(400, 404),
        },
      },
    },
    async (req) =>
      clearPayOrderAttention(options, {
        payOrderId: req.params.id,
        note: req.body.note,
        operator: req.operator,
      }),
  );

  const reconciliationTags = ['Reconciliation'];

  // Runs (or reruns) a day's reconciliation and answers its report when it is done.
  app.post(
    '/reconciliations',
    {
      schema: {
        operationId: 'reconcileDay',
        summary: 'Reconcile (again) one channel’s statement of one day and answer the report',
        tags: reconciliationTags,
        body: reconcileRequestSchema,
        response: {
          200: reconciliationReportSchema.meta({ description: 'The run’s report' }),
          ...problemResponses(400, 404, 409, 503),
        },
      },
    },
    async (req) => options.reconciliations.run(req.body, req.operator),
  );

  app.get(
    '/reconciliations',
    {
      schema: {
        operationId: 'listReconciliations',
        summary: 'Reconciled days, newest first',
        tags: reconciliationTags,
        querystring: reconciliationListQuerySchema,
        response: {
          200: reconciliationListSchema.meta({ description: 'At most 200 days' }),
          ...problemResponses(400),
        },
      },
    },
    async (req) => options.reconciliations.list(req.query),
  );

  app.get(
    '/reconciliations/:channel/:day',
    {
      schema: {
        operationId: 'getReconciliation',
        summary: 'One reconciled day with every difference ever found for it',
        tags: reconciliationTags,
        params: reconciliationParamSchema,
        response: {
          200: reconciliationDaySchema.meta({ description: 'The day' }),
          ...problemResponses(400, 404),
        },
      },
    },
    async (req) => options.reconciliations.get(req.params.channel, req.params.day),
  );

  app.get(
    '/reconciliation-differences',
    {
      schema: {
        operationId: 'listOpenDifferences',
        summary: 'Differences waiting for an operator, urgent first',
        tags: reconciliationTags,
        response: { 200: differenceListSchema.meta({ description: 'At most 500 differences' }) },
      },
    },
    async () => options.reconciliations.openDifferences(),
  );

  app.post(
    '/reconciliation-differences/:id/resolve',
    {
      schema: {
        operationId: 'resolveDifference',
        summary: 'Record what was decided about a difference',
        tags: reconciliationTags,
        params: differenceIdParamSchema,
        body: resolveDifferenceSchema,
        response: {
          200: differenceSchema.meta({ description: 'The resolved difference' }),
          ...problemResponses(400, 404, 409),
        },
      },
    },
    async (req) =>
      options.reconciliations.resolveDifference(req.params.id, req.body.note, req.operator),
  );

  const merchantTags = ['Merchants'];

  // The API key and the notify secret are answered here once; only the key's hash is stored.
  app.post(
    '/merchants',
    {
      schema: {
        operationId: 'createMerchant',
        summary: 'Create a merchant with its first API key and notify secret',
        tags: merchantTags,
        body: createMerchantSchema,
        response: {
          201: createdMerchantSchema.meta({ description: 'Created' }),
          ...problemResponses(400),
        },
      },
    },
    async (req, reply) => {
      const created = await createMerchantAs(
        db,
        options.secretBox,
        req.body,
        options.mode,
        req.operator,
      );
      return reply.status(201).send(created);
    },
  );

  app.get(
    '/merchants/:id',
    {
      schema: {
        operationId: 'getMerchant',
        summary: 'A merchant with its API keys (never the keys themselves)',
        tags: merchantTags,
        params: merchantIdParamSchema,
        response: {
          200: merchantWithKeysSchema.meta({ description: 'The merchant' }),
          ...problemResponses(400, 404),
        },
      },
    },
    async (req) => describeMerchant(db, req.params.id),
  );

  app.post(
    '/merchants/:id/keys',
    {
      schema: {
        operationId: 'issueApiKey',
        summary: 'Issue another API key for a merchant',
        tags: merchantTags,
        params: merchantIdParamSchema,
        body: noOptionsSchema,
        response: {
          201: issuedApiKeySchema,
          ...problemResponses(400, 404),
        },
      },
    },
    async (req, reply) =>
      reply.status(201).send(await issueApiKeyAs(db, req.params.id, options.mode, req.operator)),
  );

  // The new secret is answered here once; the old one signs along with it until the overlap ends.
  app.post(
    '/merchants/:id/notify-secret/rotate',
    {
      schema: {
        operationId: 'rotateNotifySecret',
        summary: 'Make a new notify secret; the old one signs along with it for the overlap',
        tags: merchantTags,
        params: merchantIdParamSchema,
        body: noOptionsSchema,
        response: {
          200: rotatedNotifySecretSchema.meta({ description: 'The new secret' }),
          ...problemResponses(400, 404),
        },
      },
    },
    async (req) =>
      rotateNotifySecretAs(
        db,
        options.secretBox,
        req.params.id,
        options.notifySecretOverlapSeconds,
        req.operator,
      ),
  );

  app.delete(
    '/merchants/:id/keys/:keyId',
    {
      schema: {
        operationId: 'revokeApiKey',
        summary: 'Revoke a merchant’s API key (again: no change)',
        tags: merchantTags,
        params: merchantKeyParamSchema,
        response: {
          200: apiKeyViewSchema.meta({ description: 'The revoked key' }),
          ...problemResponses(400, 404),
        },
      },
    },
    async (req) => revokeApiKeyAs(db, req.params.id, req.params.keyId, req.operator),
  );

  // The audit log, newest first; `nextCursor` asks for the next (older) page.
  app.get(
    '/audit',
    {
      schema: {
        operationId: 'listAudit',
        summary: 'The audit log, newest first',
        tags: ['Operations'],
        querystring: auditListQuerySchema,
        response: {
          200: auditListSchema.meta({ description: 'One page of entries' }),
          ...problemResponses(400),
        },
      },
    },
    async (req) => listAudit(db, req.query),
  );
};
