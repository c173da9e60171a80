// GET /metrics: the API process's metrics in Prometheus' text format, for a scraper on the
// operators' network (no key: Prometheus scrapes every API process by address, like /healthz).
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { ApiMetrics } from '../../metrics';

export const metricsRoutes: FastifyPluginAsyncZod<{ metrics: ApiMetrics }> = async (
  app,
  { metrics },
) => {
  app.get(
    '/metrics',
    {
      schema: {
        operationId: 'metrics',
        summary: "This process's metrics, in Prometheus' text exposition format",
        description:
          'paycenter_* business metrics counted by this API process (pay orders created, channel ' +
          'notifications answered and refused, pay orders needing attention) and the process’s ' +
          'own (CPU, memory, event loop). Each worker serves its own on WORKER_METRICS_PORT.',
        tags: ['Service'],
        security: [],
        response: {
          200: {
            description: 'Prometheus text format 0.0.4',
            content: { 'text/plain': { schema: z.string() } },
          },
        },
      },
    },
    async (_req, reply) => {
      const text = await metrics.registry.metrics();
      return reply
        .type(metrics.registry.contentType)
        .header('cache-control', 'no-store')
        .send(text);
    },
  );
};
