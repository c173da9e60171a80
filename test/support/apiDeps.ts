// The API's dependencies with no service behind them, for tests that build the Fastify app and
// call only what needs none (the OpenAPI document, /docs, /metrics).
import pino from 'pino';
import type { ApiDeps } from '../../src/api/app';
import { createApiMetrics } from '../../src/metrics';

/** Unwired deps: a handler that reaches a service throws; `overrides` set what a test needs. */
export function unwiredApiDeps(overrides: Partial<ApiDeps> = {}): ApiDeps {
  return {
    db: {} as never,
    log: pino({ level: 'silent' }),
    channels: new Map(),
    mode: 'test',
    secretBox: {} as never,
    notifySecretOverlapSeconds: 60,
    temporal: {} as never,
    readinessTimeoutMs: 1_000,
    bodyLimitBytes: 65_536,
    limits: { maxAmount: 100_000_000, maxExpiresInSeconds: 7 * 24 * 3600 },
    rateLimitPerMinute: 1_000,
    trustProxy: false,
    idempotencyLeaseSeconds: 60,
    idempotencyKeyRetentionSeconds: 86_400,
    cashier: {
      tokenSecret: 'x'.repeat(32),
      payLimitPerMinute: 10,
      publicUrl: 'https://pay.example.test',
    },
    opsConsole: { sessionSeconds: 3600, idleSeconds: 600 },
    payOrders: {} as never,
    refunds: {} as never,
    events: {} as never,
    inbox: {} as never,
    safetyNet: {} as never,
    reconciliations: {} as never,
    metrics: createApiMetrics({
      payOrdersNeedingAttention: async () => 0,
      payOrderRequestsWaiting: () => 0,
    }),
    ...overrides,
  };
}
