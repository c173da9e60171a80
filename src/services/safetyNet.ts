// What operators do with the safety net: run a scan now and wait for its report, list open findings.
import { randomUUID } from 'node:crypto';
import type { Client } from '@temporalio/client';
import { asc, isNull } from 'drizzle-orm';
import type { Db } from '../db/client';
import { safetyNetFindings } from '../db/schema';
import type { SafetyNetReport } from '../domain/safetyNet';
import {
  safetyNetScanWorkflow,
  safetyNetScanWorkflowId,
  type SafetyNetInput,
} from '../workflows/contracts/safetyNetScan';
import { recordAudit } from './audit';
import { describeMerchant } from './merchants';
import { startWorkflow } from './workflowStarts';

export interface SafetyNetServiceDeps {
  db: Db;
  temporal: Client;
  taskQueue: string;
  /** The scheduled scans' input (src/schedules.ts), so a scan on request judges alike. */
  input: SafetyNetInput;
}

export function createSafetyNetService(deps: SafetyNetServiceDeps) {
  const { db } = deps;

  return {
    /**
     * Runs a scan as a workflow, so it shows in the Temporal UI beside the scheduled ones, and
     * records it under the operator who asked.
     */
    async scanNow(
      request: { merchantId?: string | undefined },
      operator: string,
    ): Promise<SafetyNetReport> {
      // An unknown merchant is an operator's typo: say so rather than report a clean scan.
      if (request.merchantId) await describeMerchant(db, request.merchantId);
      const { handle } = await startWorkflow(deps.temporal, safetyNetScanWorkflow, {
        workflowId: safetyNetScanWorkflowId(deps.taskQueue, randomUUID()),
        taskQueue: deps.taskQueue,
        input: {
          ...deps.input,
          ...(request.merchantId ? { merchantId: request.merchantId } : {}),
        },
        reuse: 'AFTER_CLOSE',
      });
      const report = await handle.result();
      await recordAudit(db, {
        operator,
        action: 'safety_net.scan',
        subject: { type: 'safety_net_scan', id: request.merchantId ?? 'all merchants' },
        before: null,
        after: report,
      });
      return report;
    },

    /** Findings still there at the last scan, oldest first. */
    async openFindings() {
      const rows = await db
        .select()
        .from(safetyNetFindings)
        .where(isNull(safetyNetFindings.clearedAt))
        .orderBy(asc(safetyNetFindings.firstSeenAt), asc(safetyNetFindings.id))
        .limit(500);
      return {
        items: rows.map((r) => ({
          id: r.id,
          check: r.check,
          subject: r.subject,
          payOrderId: r.payOrderId,
          action: r.action,
          detail: r.detail,
          timesSeen: r.timesSeen,
          firstSeenAt: r.firstSeenAt.toISOString(),
          lastSeenAt: r.lastSeenAt.toISOString(),
        })),
      };
    },
  };
}

export type SafetyNetService = ReturnType<typeof createSafetyNetService>;
