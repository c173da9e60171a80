// The API process's Fastify app: plugins by audience, one error handler, request IDs and logs,
// health probes.
import type { Client } from '@temporalio/client';
import Fastify, { type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { ChannelRegistry } from '../channels/registry';
import type { Db } from '../db/client';
import { fastifyLogging } from '../log';
import type { ApiMetrics } from '../metrics';
import type { NotificationInbox } from '../services/inbox';
import type { PayOrderService } from '../services/payOrders';
import type { MerchantEventService } from '../services/merchantEvents';
import type { RefundService } from '../services/refunds';
import type { SafetyNetService } from '../services/safetyNet';
import type { SecretBox } from '../services/secretBox';
import { apiDescription, serviceRoutes } from './openapi';
import { installRateLimits } from './rateLimits';
import { installRequestLogs, requestIdOf } from './requestLogs';
import { installSecurityHeaders } from './securityHeaders';
import {
  registerProblemHandlers,
  sendProblem,
  serializerCompiler,
  validatorCompiler,
} from './problems';
import { opsConsoleRoutes, type OpsConsoleSettings } from './console/routes';
import { cashierRoutes } from './routes/cashier';
import { merchantRoutes } from './routes/merchant';
import { metricsRoutes } from './routes/metrics';
import { opsRoutes } from './routes/ops';
import type { ReconciliationService } from '../services/reconciliations';
import type { Mode } from '../domain/modes';
import { eventRoutes } from './routes/events';
import { refundRoutes } from './routes/refunds';
import { safetyNetRoutes } from './routes/safetyNet';
import { webhookRoutes } from './routes/webhooks';

export interface ApiDeps {
  db: Db;
  log: Logger;
  channels: ChannelRegistry;
  payOrders: PayOrderService;
  refunds: RefundService;
  events: MerchantEventService;
  inbox: NotificationInbox;
  safetyNet: SafetyNetService;
  reconciliations: ReconciliationService;
  /** The deployment's mode: merchant keys of the other mode are refused, new ones are of this. */
  mode: Mode;
  /** The built-in operator's key, when one is configured (or generated, in test mode). */
  opsKey?: string;
  /** Seals merchants' notify secrets; how long a rotated one still signs along with the new. */
  secretBox: SecretBox;
  notifySecretOverlapSeconds: number;
  /** Signals workflows on operators' behalf (clearing NeedsAttention); /readyz asks it too. */
  temporal: Client;
  /** How long /readyz waits for the database and Temporal before it answers 503. */
  readinessTimeoutMs: number;
  bodyLimitBytes: number;
  limits: { maxAmount: number; maxExpiresInSeconds: number };
  rateLimitPerMinute: number;
  /** Proxies whose X-Forwarded-For names the client (addresses, CIDRs or proxy-addr names); none: false. */
  trustProxy: string[] | false;
  idempotencyLeaseSeconds: number;
  idempotencyKeyRetentionSeconds: number;
  /**
   * The cashier's token secret, its pay limit (per pay order and per client address), and the
   * address payers reach it at (the channels send them back there).
   */
  cashier: { tokenSecret: string; payLimitPerMinute: number; publicUrl: string };
  /** This process's metrics, served at /metrics and counted by the webhook route. */
  metrics: ApiMetrics;
  /** The ops console's sessions and its links to the Temporal UI. */
  opsConsole: OpsConsoleSettings;
  /** Server spans for every request, when tracing is on (src/tracing.ts). */
  traceRequests?: (app: FastifyInstance) => void;
}

export function buildApi(deps: ApiDeps) {
  const app = Fastify({
    ...fastifyLogging(deps.log, 'api'),
    genReqId: requestIdOf,
    // One limit for every body, channels' webhooks included (they are never rate-limited).
    bodyLimit: deps.bodyLimitBytes,
    trustProxy: deps.trustProxy,
    // The router refuses some URLs before any handler runs; they still get problem+json.
    frameworkErrors: (err, _req, reply) => {
      const tooLong = err.code === 'FST_ERR_MAX_PARAM_LENGTH';
      sendProblem(
        reply,
        tooLong ? 414 : 400,
        tooLong ? 'URI_TOO_LONG' : 'MALFORMED_REQUEST',
        tooLong ? 'a path parameter is too long' : 'the URL is not well formed',
      );
    },
  });
  // Routes declare zod schemas: they validate into the same 400 problems, and describe the API.
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  registerProblemHandlers(app);
  // First of the hooks, so a request's span covers its rate limit and authentication too.
  deps.traceRequests?.(app);
  // Ahead of the rate limit and authentication, so the answers they refuse with carry the ID too.
  installRequestLogs(app);
  installSecurityHeaders(app);
  installRateLimits(app, {
    db: deps.db,
    opsKey: deps.opsKey,
    perMinute: deps.rateLimitPerMinute,
  });

  // Before every route, so the OpenAPI document describes them all.
  app.register(apiDescription, {});
  app.register(serviceRoutes, {
    db: deps.db,
    temporal: deps.temporal,
    readinessTimeoutMs: deps.readinessTimeoutMs,
  });
  app.register(metricsRoutes, { metrics: deps.metrics });
  app.register(merchantRoutes, { prefix: '/v1', ...deps });
  app.register(refundRoutes, { prefix: '/v1', ...deps });
  app.register(eventRoutes, { prefix: '/v1', ...deps });
  app.register(webhookRoutes, { prefix: '/webhooks', ...deps });
  app.register(cashierRoutes, { prefix: '/cashier', ...deps });
  app.register(opsRoutes, { prefix: '/ops', ...deps });
  app.register(safetyNetRoutes, { prefix: '/ops', ...deps });
  app.register(opsConsoleRoutes, { prefix: '/ops/console', ...deps });
  return app;
}
