// Reconciliation on demand (API and CLI): runs or reruns one channel's day through its workflow,
// reads runs and their differences, and records an operator's resolution of a difference.
import { WorkflowFailedError, type Client } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { and, desc, eq, sql } from 'drizzle-orm';
import type { ChannelRegistry } from '../channels/registry';
import { channelOrThrow } from '../channels/registry';
import type { Db } from '../db/client';
import { differencesOfDay, reconciliationDifferences, reconciliations } from '../db/schema';
import { DomainError } from '../domain/errors';
import { dayIn, type ReconciliationReport } from '../domain/reconciliation';
import {
  reconcileDayWorkflow,
  reconcileDayWorkflowId,
  type ReconcileInput,
} from '../workflows/contracts/reconcileDay';
import { recordAudit } from './audit';
import { startWorkflow } from './workflowStarts';

export interface ReconcileRunDeps {
  temporal: Client;
  taskQueue: string;
  channels: ChannelRegistry;
  /** Days after today in this time zone have no statement yet. */
  timeZone: string;
}

export interface ReconciliationServiceDeps extends ReconcileRunDeps {
  db: Db;
}

type DifferenceRow = typeof reconciliationDifferences.$inferSelect;

function differenceView(row: DifferenceRow) {
  return {
    id: row.id,
    channel: row.channel,
    day: row.day,
    kind: row.kind,
    reference: row.reference,
    payOrderId: row.payOrderId,
    attemptId: row.attemptId,
    refundId: row.refundId,
    currency: row.currency,
    channelAmount: row.channelAmount,
    bookAmount: row.bookAmount,
    resolution: row.resolution,
    urgent: row.urgent,
    action: row.action,
    note: row.note,
    evidence: row.evidence,
    createdAt: row.createdAt.toISOString(),
    resolvedAt: row.resolvedAt?.toISOString() ?? null,
  };
}

/** Runs (or reruns) one channel's day and answers its report; one run of a day at a time. */
export async function runReconciliation(
  deps: ReconcileRunDeps,
  input: ReconcileInput,
): Promise<ReconciliationReport> {
  channelOrThrow(deps.channels, input.channel);
  const today = dayIn(deps.timeZone, new Date());
  if (input.day > today) {
    throw new DomainError('VALIDATION_FAILED', 'the day has not begun yet', [
      { field: 'day', message: `must be ${today} or earlier` },
    ]);
  }
  const { start, handle } = await startWorkflow(deps.temporal, reconcileDayWorkflow, {
    workflowId: reconcileDayWorkflowId(deps.taskQueue, input),
    taskQueue: deps.taskQueue,
    input,
    reuse: 'AFTER_CLOSE',
    staticSummary: `Reconcile ${input.channel} ${input.day}`,
  });
  if (start === 'ALREADY_STARTED') {
    throw new DomainError(
      'RECONCILIATION_RUNNING',
      `${input.channel} ${input.day} is being reconciled right now; ask again when it is done`,
    );
  }
  try {
    return await handle.result();
  } catch (err) {
    const cause = err instanceof WorkflowFailedError ? err.cause : undefined;
    if (cause instanceof ApplicationFailure && cause.type === 'STATEMENT_UNAVAILABLE') {
      throw new DomainError('CHANNEL_UNAVAILABLE', cause.message);
    }
    throw err;
  }
}

export function createReconciliationService(deps: ReconciliationServiceDeps) {
  const { db } = deps;

  return {
    /** Runs (or reruns) a day for an operator; the audit log keeps the run before and the report. */
    async run(input: ReconcileInput, operator: string) {
      const [previous] = await db
        .select({ status: reconciliations.status, runs: reconciliations.runs })
        .from(reconciliations)
        .where(and(eq(reconciliations.channel, input.channel), eq(reconciliations.day, input.day)));
      const report = await runReconciliation(deps, input);
      await recordAudit(db, {
        operator,
        action: 'reconciliation.run',
        subject: { type: 'reconciliation', id: `${input.channel}:${input.day}` },
        before: previous ?? null,
        after: report,
      });
      return report;
    },

    async list(filter: { channel?: string; day?: string }) {
      const rows = await db
        .select()
        .from(reconciliations)
        .where(
          and(
            filter.channel ? eq(reconciliations.channel, filter.channel) : undefined,
            filter.day ? eq(reconciliations.day, filter.day) : undefined,
          ),
        )
        .orderBy(desc(reconciliations.day), reconciliations.channel)
        .limit(200);
      return {
        items: rows.map((r) => ({
          channel: r.channel,
          day: r.day,
          status: r.status,
          runs: r.runs,
          startedAt: r.startedAt.toISOString(),
          finishedAt: r.finishedAt?.toISOString() ?? null,
          report: r.report,
        })),
      };
    },

    /** A day's run with every difference ever found for it, settled ones included. */
    async get(channel: string, day: string) {
      const [run] = await db
        .select()
        .from(reconciliations)
        .where(and(eq(reconciliations.channel, channel), eq(reconciliations.day, day)));
      if (!run) throw new DomainError('NOT_FOUND', `${channel} ${day} has not been reconciled`);
      const differences = await db
        .select()
        .from(reconciliationDifferences)
        .where(differencesOfDay(channel, day))
        .orderBy(reconciliationDifferences.kind, reconciliationDifferences.reference);
      return {
        channel,
        day,
        status: run.status,
        runs: run.runs,
        report: run.report,
        differences: differences.map(differenceView),
      };
    },

    /** Differences waiting for an operator, urgent first. */
    async openDifferences() {
      const rows = await db
        .select()
        .from(reconciliationDifferences)
        .where(eq(reconciliationDifferences.resolution, 'OPS'))
        .orderBy(desc(reconciliationDifferences.urgent), reconciliationDifferences.createdAt)
        .limit(500);
      return { items: rows.map(differenceView) };
    },

    /** An operator records what was decided; only a difference waiting for one can be resolved. */
    resolveDifference(id: string, note: string, operator: string) {
      return db.transaction(async (tx) => {
        const [existing] = await tx
          .select()
          .from(reconciliationDifferences)
          .where(eq(reconciliationDifferences.id, id))
          .for('update');
        if (!existing) throw new DomainError('NOT_FOUND', `no difference ${id}`);
        if (existing.resolution !== 'OPS') {
          throw new DomainError(
            'DIFFERENCE_NOT_OPEN',
            `difference ${id} is ${existing.resolution}, not waiting for an operator`,
          );
        }
        const [row] = await tx
          .update(reconciliationDifferences)
          .set({ resolution: 'RESOLVED', note, resolvedAt: sql`now()`, updatedAt: sql`now()` })
          .where(eq(reconciliationDifferences.id, id))
          .returning();
        await recordAudit(tx, {
          operator,
          action: 'reconciliation_difference.resolve',
          subject: { type: 'reconciliation_difference', id },
          before: { resolution: existing.resolution, note: existing.note },
          after: { resolution: row!.resolution, note: row!.note },
          note,
        });
        return differenceView(row!);
      });
    },
  };
}

export type ReconciliationService = ReturnType<typeof createReconciliationService>;
