// Rate limits per caller, decided before any plugin authenticates: a valid merchant or ops key has a
// budget of its own; anyone else (no key, a wrong one) shares the budget of their client address,
// so inventing a new Authorization header per request buys nothing, and their 401s count.
import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Db } from '../db/client';
import { probePaths } from '../health';
import { hashApiKey } from '../services/merchants';
import { bearerKey, merchantOfRequest, operatorOfRequest } from './auth';

export interface RateLimitOptions {
  db: Db;
  opsKey?: string;
  perMinute: number;
}

/**
 * Channels must always reach us (their bodies are bounded by the app's body limit instead), and so
 * must the orchestrator's probes and Prometheus: a refused probe would take a healthy API out of
 * service, and the scrapes all come from one address.
 */
const neverLimited = (req: FastifyRequest) => {
  const path = req.url.split('?')[0]!;
  return req.url.startsWith('/webhooks/') || probePaths.has(path) || path === '/metrics';
};

/** The budget a request is counted against: its valid key's, else its client address's. */
async function budgetOf(options: RateLimitOptions, req: FastifyRequest): Promise<string> {
  const key = bearerKey(req);
  if (key && req.url.startsWith('/v1/') && (await merchantOfRequest(options.db, req))) {
    return `merchant-key:${hashApiKey(key)}`;
  }
  if (
    key &&
    req.url.startsWith('/ops/') &&
    (await operatorOfRequest(options.db, options.opsKey, req))
  ) {
    return `ops-key:${hashApiKey(key)}`;
  }
  // Behind TRUST_PROXY, Fastify takes req.ip from X-Forwarded-For; otherwise it is the peer's.
  return `address:${req.ip}`;
}

/**
 * Limits every request of the app but channels' webhooks, the health probes and the metrics. The
 * limit runs as an app-wide onRequest hook, ahead of the audience plugins' authentication, so
 * refused requests are counted too; call before registering those plugins. What is never limited
 * passes the hook at once, before any budget is worked out (a channel's notification costs the
 * limiter nothing).
 */
export function installRateLimits(app: FastifyInstance, options: RateLimitOptions): void {
  app.register(rateLimit, {
    global: false,
    max: options.perMinute,
    timeWindow: '1 minute',
    keyGenerator: (req) => budgetOf(options, req),
    errorResponseBuilder: (_req, context) =>
      Object.assign(new Error(`rate limit of ${context.max} requests a minute reached`), {
        statusCode: 429,
        code: 'RATE_LIMITED',
      }),
  });
  app.after(() => {
    const limit = app.rateLimit();
    app.addHook('onRequest', async (req, reply) => {
      if (!neverLimited(req)) await limit.call(app, req, reply);
    });
  });
}
