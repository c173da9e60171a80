// Operator endpoints (/ops): what needs a human, reconciliation, and merchants with their API keys.
import { desc, eq } from 'drizzle-orm';
import type { FastifyPluginAsync } from 'fastify';
import type { Db } from '../../db/client';
import { payOrders } from '../../db/schema';
import {
  createMerchantSchema,
  differenceIdParamSchema,
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
  createMerchant,
  describeMerchant,
  issueApiKey,
  revokeApiKey,
  rotateNotifySecret,
} from '../../services/merchants';
import type { SecretBox } from '../../services/secretBox';
import { authenticateOperator } from '../auth';
import { parseInput } from '../problems';

export const opsRoutes: FastifyPluginAsync<{
  db: Db;
  opsKey: string;
  reconciliations: ReconciliationService;
  secretBox: SecretBox;
  notifySecretOverlapSeconds: number;
}> = async (app, options) => {
  app.addHook('onRequest', async (req) => authenticateOperator(options.opsKey, req));

  app.get('/exceptions', async () => {
    const rows = await options.db
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
    return options.reconciliations.run(body);
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
    return options.reconciliations.resolveDifference(id, note);
  });

  // The API key and the notify secret are answered here once; only the key's hash is stored.
  app.post('/merchants', async (req, reply) => {
    const body = parseInput(createMerchantSchema, req.body, 'body');
    return reply.status(201).send(await createMerchant(options.db, options.secretBox, body));
  });

  app.get('/merchants/:id', async (req) => {
    const { id } = parseInput(merchantIdParamSchema, req.params, 'path');
    return describeMerchant(options.db, id);
  });

  app.post('/merchants/:id/keys', async (req, reply) => {
    const { id } = parseInput(merchantIdParamSchema, req.params, 'path');
    parseInput(issueApiKeySchema, req.body, 'body');
    return reply.status(201).send(await issueApiKey(options.db, id));
  });

  // The new secret is answered here once; the old one signs along with it until the overlap ends.
  app.post('/merchants/:id/notify-secret/rotate', async (req) => {
    const { id } = parseInput(merchantIdParamSchema, req.params, 'path');
    parseInput(rotateNotifySecretSchema, req.body, 'body');
    return rotateNotifySecret(
      options.db,
      options.secretBox,
      id,
      options.notifySecretOverlapSeconds,
    );
  });

  app.delete('/merchants/:id/keys/:keyId', async (req) => {
    const { id, keyId } = parseInput(merchantKeyParamSchema, req.params, 'path');
    return revokeApiKey(options.db, id, keyId);
  });
};
