// Operator endpoints of the safety net (/ops/safety-net): run a scan now, list open findings.
import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import { merchantIdParamSchema } from '../../domain/schemas';
import type { SafetyNetService } from '../../services/safetyNet';
import { authenticateOperator } from '../auth';
import { parseInput } from '../problems';

/** A narrow scan names one merchant; an empty body (or none) scans every merchant. */
const scanRequestSchema = z
  .object({ merchantId: merchantIdParamSchema.shape.id.optional() })
  .strict();

export const safetyNetRoutes: FastifyPluginAsync<{
  opsKey: string;
  safetyNet: SafetyNetService;
}> = async (app, options) => {
  app.addHook('onRequest', async (req) => authenticateOperator(options.opsKey, req));

  // Waits for the scan: its report is the answer (and the workflow's result in the Temporal UI).
  app.post('/safety-net/scans', async (req) => {
    const body = parseInput(scanRequestSchema, req.body, 'body');
    return options.safetyNet.scanNow(body);
  });

  app.get('/safety-net/findings', async () => options.safetyNet.openFindings());
};
