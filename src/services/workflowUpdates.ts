// Running an Update on a pay order's workflow until a run has taken it: the Update is sent again
// while the workflow hands over to a new run (continue-as-new), and when Temporal hands it back
// unprocessed (the worker completed the workflow task it arrived in without reaching it). Neither
// was applied, so sending it again cannot apply it twice.
import {
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  type WorkflowHandle,
} from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { handOver } from '../workflows/contracts/payment';

/** The type Temporal gives an Update it rejected because no worker processed it. */
export const unprocessedUpdate = 'UnprocessedUpdate';

const tries = 40;

export async function updateAcrossRuns<T>(
  handle: WorkflowHandle,
  update: (handle: WorkflowHandle) => Promise<T>,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await update(handle);
    } catch (err) {
      const type = refusalOf(err)?.type;
      const notTaken =
        type === handOver ||
        type === unprocessedUpdate ||
        (isCompletedError(err) && (await runsOn(handle)));
      if (!notTaken || attempt >= tries) throw err;
      await new Promise((resolve) => setTimeout(resolve, 50 * Math.min(attempt, 10)));
    }
  }
}

/** The failure an Update's handler or validator refused with, if it refused. */
export function refusalOf(err: unknown): ApplicationFailure | undefined {
  return err instanceof WorkflowUpdateFailedError && err.cause instanceof ApplicationFailure
    ? err.cause
    : undefined;
}

/**
 * Whether the run a call went to had completed (or no run was found). Temporal answers NOT_FOUND,
 * "workflow execution already completed", which the client turns into a WorkflowNotFoundError;
 * over the SDK's native connection that error's message is empty, so its class tells, not its text.
 */
export function isCompletedError(err: unknown): boolean {
  return (
    err instanceof WorkflowNotFoundError ||
    (err instanceof Error && /already completed/i.test(err.message))
  );
}

/** Whether the workflow still runs (a later run, after continue-as-new); not if there is none. */
async function runsOn(handle: WorkflowHandle): Promise<boolean> {
  try {
    return (await handle.describe()).status.name === 'RUNNING';
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return false;
    throw err;
  }
}
