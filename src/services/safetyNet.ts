// What operators do with the safety net: run a scan now and wait for its report, list open findings.
import { randomUUID } from 'node:crypto';
import type { Client } from '@temporalio/client';
import { asc, isNull } from 'drizzle-orm';
import type { Db } from '../db/client';
import { safetyNetFindings } from '../db/schema';
import type { SafetyNetReport } from '../domain/safetyNet';
import type { SafetyNetInput, safetyNetScan } from '../workflows/safetyNet';
import { describeMerchant } from './merchants';

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
    /** Runs a scan as a workflow, so it shows in the Temporal UI beside the scheduled ones. */
    async scanNow(request: { merchantId?: string | undefined }): Promise<SafetyNetReport> {
      // An unknown merchant is an operator's typo: say so rather than report a clean scan.
      if (request.merchantId) await describeMerchant(db, request.merchantId);
      return deps.temporal.workflow.execute<typeof safetyNetScan>('safetyNetScan', {
        workflowId: `safety-net:${deps.taskQueue}:ops-${randomUUID()}`,
        taskQueue: deps.taskQueue,
        args: [
          {
            ...deps.input,
            ...(request.merchantId ? { merchantId: request.merchantId } : {}),
          } satisfies SafetyNetInput,
        ],
      });
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
