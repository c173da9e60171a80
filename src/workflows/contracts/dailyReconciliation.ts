// The dailyReconciliation workflow's contract: started by the daily Schedule
// (`reconcile-daily:<queue>`), it reconciles yesterday on every channel through reconcileDay.
import { workflowContract } from './contract';

export interface DailyReconciliationInput {
  channels: string[];
  /** "Yesterday" is the day before today in this time zone. */
  timeZone: string;
}

export interface DailyReconciliationResult {
  day: string;
  channels: Record<
    string,
    | { status: 'COMPLETED'; forOperators: number; autoCorrected: number }
    | { status: 'FAILED' | 'ALREADY_RUNNING'; reason: string }
  >;
}

export const dailyReconciliationWorkflow = workflowContract<
  DailyReconciliationInput,
  DailyReconciliationResult
>()('dailyReconciliation');

/** The Schedule's runs (Temporal appends each run's time to this ID). */
export function dailyReconciliationWorkflowId(taskQueue: string): string {
  return `reconcile-daily:${taskQueue}`;
}
