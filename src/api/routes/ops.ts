// Operator endpoints (/ops): what needs a human, reconciliation, merchants with their API keys, and
// the audit log. Every change an operator makes here is recorded under their name (src/services/audit.ts).
import type { Client } from '@temporalio/client';
import { and, desc, eq } from 'drizzle-orm';
import type { FastifyPluginAsync } from 'fastify';
import type { Db } from '../../db/client';
import { merchantApiKeys, payOrders } from '../../db/schema';
import {
  auditListQuerySchema,
  clearAttentionSchema,
  createMerchantSchema,
  differenceIdParamSchema,
  idParamSchema,
  issueApiKeySchema,
  merchantIdParamSchema,
  merchantKeyParamSchema,
  reconcileRequestSchema,
  reconciliationListQuerySchema,
  reconciliationParamSchema,
  resolveDifferenceSchema,
  rotateNotifySecretSchema,
} from '../../domain/schemas';
import type { ReconciliationService } from '../../services/reconciliations';
import {
  describeMerchant,
  issueApiKey,
  revokeApiKey,
  rotateNotifySecret,
} from '../../services/merchants';
import type { SecretBox } from '../../services/secretBox';
import { audited, listAudit } from '../../services/audit';
import { createMerchantAs } from '../../services/operators';
import { clearPayOrderAttention } from '../../services/payOrderAttention';
import { requireOperator } from '../auth';
import { parseInput } from '../problems';
import type { Mode } from '../../domain/modes';

export const opsRoutes: FastifyPluginAsync<{
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
  requireOperator(app, options);

  app.get('/exceptions', async () => {
    const rows = await db
      .select()
      .from(payOrders)
      .where(eq(payOrders.needsAttention, true))
      .orderBy(desc(payOrders.updatedAt))
      .limit(500);
    return {
      items: rows.map((r) => ({
        id: r.id,
        merchantId: r.merchantId,
        merchantOrderNo: r.merchantOrderNo,
        status: r.status,
        amount: r.amount,
        currency: r.currency,
        updatedAt: r.updatedAt.toISOString(),
      })),
    };
  });

  // Runs (or reruns) a day's reconciliation and answers its report when it is done.
  app.post('/reconciliations', async (req) => {
    const body = parseInput(reconcileRequestSchema, req.body, 'body');
    return options.reconciliations.run(body, req.operator);
  });

  app.get('/reconciliations', async (req) => {
    const query = parseInput(reconciliationListQuerySchema, req.query, 'query');
    return options.reconciliations.list(query);
  });

  app.get('/reconciliations/:channel/:day', async (req) => {
    const { channel, day } = parseInput(reconciliationParamSchema, req.params, 'path');
    return options.reconciliations.get(channel, day);
  });

  app.get('/reconciliation-differences', async () => options.reconciliations.openDifferences());

  app.post('/reconciliation-differences/:id/resolve', async (req) => {
    const { id } = parseInput(differenceIdParamSchema, req.params, 'path');
    const { note } = parseInput(resolveDifferenceSchema, req.body, 'body');
    return options.reconciliations.resolveDifference(id, note, req.operator);
  });

  // The API key and the notify secret are answered here once; only the key's hash is stored.
  app.post('/merchants', async (req, reply) => {
    const body = parseInput(createMerchantSchema, req.body, 'body');
    const created = await createMerchantAs(db, options.secretBox, body, options.mode, req.operator);
    return reply.status(201).send(created);
  });

  app.get('/merchants/:id', async (req) => {
    const { id } = parseInput(merchantIdParamSchema, req.params, 'path');
    return describeMerchant(db, id);
  });

  app.post('/merchants/:id/keys', async (req, reply) => {
    const { id } = parseInput(merchantIdParamSchema, req.params, 'path');
    parseInput(issueApiKeySchema, req.body, 'body');
    const issued = await audited(
      db,
      (tx) => issueApiKey(tx, id, options.mode),
      (key) => ({
        operator: req.operator,
        action: 'merchant_key.issue',
        subject: { type: 'merchant_api_key', id: key.id },
        before: null,
        after: { merchantId: id, id: key.id, prefix: key.prefix },
      }),
    );
    return reply.status(201).send(issued);
  });

  // The new secret is answered here once; the old one signs along with it until the overlap ends.
  app.post('/merchants/:id/notify-secret/rotate', async (req) => {
    const { id } = parseInput(merchantIdParamSchema, req.params, 'path');
    parseInput(rotateNotifySecretSchema, req.body, 'body');
    return audited(
      db,
      (tx) => rotateNotifySecret(tx, options.secretBox, id, options.notifySecretOverlapSeconds),
      (rotated) => ({
        operator: req.operator,
        action: 'merchant.rotate_notify_secret',
        subject: { type: 'merchant', id },
        // Never the secrets themselves: only how long the old one still signs.
        before: null,
        after: { previousSecretValidUntil: rotated.previousSecretValidUntil },
      }),
    );
  });

  app.delete('/merchants/:id/keys/:keyId', async (req) => {
    const { id, keyId } = parseInput(merchantKeyParamSchema, req.params, 'path');
    const [before] = await db
      .select({ revokedAt: merchantApiKeys.revokedAt })
      .from(merchantApiKeys)
      .where(and(eq(merchantApiKeys.id, keyId), eq(merchantApiKeys.merchantId, id)));
    // A repeated revoke changes nothing, so it records nothing.
    if (before?.revokedAt) return revokeApiKey(db, id, keyId);
    return audited(
      db,
      (tx) => revokeApiKey(tx, id, keyId),
      (key) => ({
        operator: req.operator,
        action: 'merchant_key.revoke',
        subject: { type: 'merchant_api_key', id: keyId },
        before: { merchantId: id, revokedAt: null },
        after: { merchantId: id, revokedAt: key.revokedAt },
      }),
    );
  });

  app.post('/pay-orders/:id/clear-attention', async (req) => {
    const { id } = parseInput(idParamSchema, req.params, 'path');
    const { note } = parseInput(clearAttentionSchema, req.body, 'body');
    return clearPayOrderAttention(options, { payOrderId: id, note, operator: req.operator });
  });

  // The audit log, newest first; `nextCursor` asks for the next (older) page.
  app.get('/audit', async (req) => {
    const filter = parseInput(auditListQuerySchema, req.query, 'query');
    return listAudit(db, filter);
  });
};
