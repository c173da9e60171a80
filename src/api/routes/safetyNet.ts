// Operator endpoints of the safety net (/ops/safety-net): run a scan now, list open findings.
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { Db } from '../../db/client';
import type { SafetyNetService } from '../../services/safetyNet';
import { operatorAuthentication } from '../auth';
import { problemResponses } from '../problems';
import { findingListSchema, safetyNetReportSchema, scanRequestSchema } from '../schemas/ops';

const tags = ['Safety net'];

export const safetyNetRoutes: FastifyPluginAsyncZod<{
  db: Db;
  opsKey?: string;
  safetyNet: SafetyNetService;
}> = async (app, options) => {
  await app.register(operatorAuthentication, options);

  // Waits for the scan: its report is the answer (and the workflow's result in the Temporal UI).
  app.post(
    '/safety-net/scans',
    {
      schema: {
        operationId: 'scanNow',
        summary: 'Run a safety-net scan now (one merchant, or all) and answer its report',
        tags,
        body: scanRequestSchema,
        response: {
          200: safetyNetReportSchema.meta({ description: 'The scan’s report' }),
          ...problemResponses(400, 404, 503),
        },
      },
    },
    async (req) => options.safetyNet.scanNow(req.body, req.operator),
  );

  app.get(
    '/safety-net/findings',
    {
      schema: {
        operationId: 'listFindings',
        summary: 'Findings still there at the last scan, oldest first',
        tags,
        response: { 200: findingListSchema.meta({ description: 'At most 500 findings' }) },
      },
    },
    async () => options.safetyNet.openFindings(),
  );
};
