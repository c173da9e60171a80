// The API process's Fastify app: plugins by audience, one error handler, health.
import { createHash } from 'node:crypto';
import helmet from '@fastify/helmet';
import rateLimit from '@fastify/rate-limit';
import Fastify from 'fastify';
import { sql } from 'drizzle-orm';
import type { Logger } from 'pino';
import type { ChannelRegistry } from '../channels/registry';
import type { Db } from '../db/client';
import { fastifyLogging } from '../log';
import type { NotificationInbox } from '../services/inbox';
import type { PayOrderService } from '../services/payOrders';
import type { RefundService } from '../services/refunds';
import type { SafetyNetService } from '../services/safetyNet';
import { openApiRoutes, refundOperations } from './openapi';
import { registerProblemHandlers, sendProblem } from './problems';
import { cashierRoutes } from './routes/cashier';
import { merchantRoutes } from './routes/merchant';
import { opsRoutes } from './routes/ops';
import type { ReconciliationService } from '../services/reconciliations';
import { refundRoutes } from './routes/refunds';
import { safetyNetRoutes } from './routes/safetyNet';
import { webhookRoutes } from './routes/webhooks';

export interface ApiDeps {
  db: Db;
  log: Logger;
  channels: ChannelRegistry;
  payOrders: PayOrderService;
  refunds: RefundService;
  inbox: NotificationInbox;
  safetyNet: SafetyNetService;
  reconciliations: ReconciliationService;
  opsKey: string;
  bodyLimitBytes: number;
  limits: { maxAmount: number; maxExpiresInSeconds: number };
  rateLimitPerMinute: number;
  idempotencyLeaseSeconds: number;
  /** The cashier's token secret and its pay limit (per pay order and per client address). */
  cashier: { tokenSecret: string; payLimitPerMinute: number };
}

export function buildApi(deps: ApiDeps) {
  const app = Fastify({
    ...fastifyLogging(deps.log, 'api'),
    bodyLimit: deps.bodyLimitBytes,
    // The router refuses some URLs before any handler runs; they still get problem+json.
    frameworkErrors: (err, _req, reply) => {
      const tooLong = err.code === 'FST_ERR_MAX_PARAM_LENGTH';
      return sendProblem(
        reply,
        tooLong ? 414 : 400,
        tooLong ? 'URI_TOO_LONG' : 'MALFORMED_REQUEST',
        tooLong ? 'a path parameter is too long' : 'the URL is not well formed',
      );
    },
  });
  registerProblemHandlers(app);
  app.register(helmet, {
    // Our pages (cashier, /docs) are self-contained: nothing may load from elsewhere.
    contentSecurityPolicy: {
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'", "'unsafe-inline'"],
        styleSrc: ["'self'", "'unsafe-inline'"],
        formAction: ["'self'", 'http:', 'https:'],
      },
    },
  });
  app.register(rateLimit, {
    max: deps.rateLimitPerMinute,
    timeWindow: '1 minute',
    // Per API key, so one merchant cannot starve another; channels' webhooks are never limited.
    keyGenerator: (req) =>
      req.headers.authorization
        ? createHash('sha256').update(req.headers.authorization).digest('hex')
        : req.ip,
    allowList: (req) => req.url.startsWith('/webhooks/') || req.url === '/healthz',
    errorResponseBuilder: (_req, context) =>
      Object.assign(new Error(`rate limit of ${context.max} requests a minute reached`), {
        statusCode: 429,
        code: 'RATE_LIMITED',
      }),
  });
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
  app.register(safetyNetRoutes, { prefix: '/ops', ...deps });
  return app;
}
