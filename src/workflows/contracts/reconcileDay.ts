// The reconcileDay workflow's contract: one channel's statement of one day against our books.
// Keyed by task queue, channel and day (`reconcile:<queue>:<channel>:<day>`), so a day runs once
// at a time; the daily run, the ops API and the CLI start it.
import type { ReconciliationReport } from '../../domain/reconciliation';
import { workflowContract } from './contract';

export interface ReconcileInput {
  channel: string;
  day: string;
}

export const reconcileDayWorkflow = workflowContract<ReconcileInput, ReconciliationReport>()(
  'reconcileDay',
);

export function reconcileDayWorkflowId(
  taskQueue: string,
  { channel, day }: ReconcileInput,
): string {
  return `reconcile:${taskQueue}:${channel}:${day}`;
}
