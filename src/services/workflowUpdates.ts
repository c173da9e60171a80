// Running an Update on a pay order's workflow until a run has taken it: the Update is sent again
// while the workflow hands over to a new run (continue-as-new), and when Temporal hands it back
// unprocessed (the worker completed the workflow task it arrived in without reaching it). Neither
// was applied, so sending it again cannot apply it twice.
import { WorkflowUpdateFailedError, type WorkflowHandle } from '@temporalio/client';
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
        (isCompletedError(err) && (await handle.describe()).status.name === 'RUNNING');
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

export function isCompletedError(err: unknown): boolean {
  return err instanceof Error && /already completed/i.test(err.message);
}
