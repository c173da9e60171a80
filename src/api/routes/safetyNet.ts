// Operator endpoints of the safety net (/ops/safety-net): run a scan now, list open findings.
import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import { merchantIdParamSchema } from '../../domain/schemas';
import type { Db } from '../../db/client';
import { recordAudit } from '../../services/audit';
import type { SafetyNetService } from '../../services/safetyNet';
import { requireOperator } from '../auth';
import { parseInput } from '../problems';

/** A narrow scan names one merchant; an empty body (or none) scans every merchant. */
const scanRequestSchema = z
  .object({ merchantId: merchantIdParamSchema.shape.id.optional() })
  .strict();

export const safetyNetRoutes: FastifyPluginAsync<{
  db: Db;
  opsKey?: string;
  safetyNet: SafetyNetService;
}> = async (app, options) => {
  requireOperator(app, options);

  // Waits for the scan: its report is the answer (and the workflow's result in the Temporal UI).
  app.post('/safety-net/scans', async (req) => {
    const body = parseInput(scanRequestSchema, req.body, 'body');
    const report = await options.safetyNet.scanNow(body);
    await recordAudit(options.db, {
      operator: req.operator,
      action: 'safety_net.scan',
      subject: { type: 'safety_net_scan', id: body.merchantId ?? 'all merchants' },
      before: null,
      after: report,
    });
    return report;
  });

  app.get('/safety-net/findings', async () => options.safetyNet.openFindings());
};
