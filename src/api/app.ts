// The API process's Fastify app: plugins by audience, one error handler, health.
import Fastify from 'fastify';
import { sql } from 'drizzle-orm';
import type { Logger } from 'pino';
import type { ChannelRegistry } from '../channels/registry';
import type { Db } from '../db/client';
import { fastifyLogging } from '../log';
import type { NotificationInbox } from '../services/inbox';
import type { PayOrderService } from '../services/payOrders';
import type { RefundService } from '../services/refunds';
import { openApiRoutes, refundOperations } from './openapi';
import { registerProblemHandlers } from './problems';
import { cashierRoutes } from './routes/cashier';
import { merchantRoutes } from './routes/merchant';
import { opsRoutes } from './routes/ops';
import { refundRoutes } from './routes/refunds';
import { webhookRoutes } from './routes/webhooks';

export interface ApiDeps {
  db: Db;
  log: Logger;
  channels: ChannelRegistry;
  payOrders: PayOrderService;
  refunds: RefundService;
  inbox: NotificationInbox;
  opsKey: string;
  bodyLimitBytes: number;
  limits: { maxAmount: number; maxExpiresInSeconds: number };
}

export function buildApi(deps: ApiDeps) {
  const app = Fastify({
    ...fastifyLogging(deps.log, 'api'),
    bodyLimit: deps.bodyLimitBytes,
  });
  registerProblemHandlers(app);
  app.addHook('onResponse', async (req, reply) => {
    req.log.debug({ method: req.method, url: req.url, status: reply.statusCode }, 'request');
  });

  app.get('/healthz', async (_req, reply) => {
    try {
      await deps.db.execute(sql`select 1`);
      return { status: 'ok' };
    } catch {
      return reply.status(503).send({ status: 'unavailable', reason: 'database' });
    }
  });

  app.register(openApiRoutes, { limits: deps.limits, operations: refundOperations(deps.limits) });
  app.register(merchantRoutes, { prefix: '/v1', ...deps });
  app.register(refundRoutes, { prefix: '/v1', ...deps });
  app.register(webhookRoutes, { prefix: '/webhooks', ...deps });
  app.register(cashierRoutes, { prefix: '/cashier', ...deps });
  app.register(opsRoutes, { prefix: '/ops', ...deps });
  return app;
}
