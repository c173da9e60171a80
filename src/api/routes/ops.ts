// Operator endpoints (/ops): what needs a human.
import { desc, eq } from 'drizzle-orm';
import type { FastifyPluginAsync } from 'fastify';
import type { Db } from '../../db/client';
import { payOrders } from '../../db/schema';
import { authenticateOperator } from '../auth';

export const opsRoutes: FastifyPluginAsync<{ db: Db; opsKey: string }> = async (app, options) => {
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
};
