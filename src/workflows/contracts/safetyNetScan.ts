// The safetyNetScan workflow's contract: cheap checks of the books for states the workflows should
// never leave behind; its result is the scan's report. The Schedule runs it as
// `safety-net:<queue>`, an operator's request as `safety-net:<queue>:ops-<uuid>`.
import type { SafetyNetReport } from '../../domain/safetyNet';
import { workflowContract } from './contract';

export interface SafetyNetInput {
  /** How long a suspicious state must last before a scan acts (the workflows get their chance first). */
  graceSeconds: number;
  /** A refund still PROCESSING this long after it was created goes to an operator. */
  refundFinalWithinSeconds: number;
  /** A merchant notification still undelivered this long after it was created goes to an operator. */
  merchantNotifyGiveUpSeconds: number;
  /**
   * The money check reads settled orders whose books last changed within this long before the
   * grace period (absent in scans started before the check existed).
   */
  moneyLookbackSeconds?: number;
  /** Scan one merchant's pay orders only (an operator's narrow scan); all when absent. */
  merchantId?: string;
}

export const safetyNetScanWorkflow = workflowContract<SafetyNetInput, SafetyNetReport>()(
  'safetyNetScan',
);

/**
 * The scheduled scans' ID (Temporal appends each run's time), or with `operatorRequest` (a fresh
 * UUID) the ID of a scan an operator asked for.
 */
export function safetyNetScanWorkflowId(taskQueue: string, operatorRequest?: string): string {
  return operatorRequest
    ? `safety-net:${taskQueue}:ops-${operatorRequest}`
    : `safety-net:${taskQueue}`;
}
