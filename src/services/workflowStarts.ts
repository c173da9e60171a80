// Starting a workflow keyed by a row's ID exactly once: a second start is rejected by Temporal,
// which means the workflow exists (the row just had not recorded it yet).
import {
  WorkflowExecutionAlreadyStartedError,
  type Client,
  type WorkflowStartOptions,
} from '@temporalio/client';

/**
 * NEWLY_STARTED: the workflow did not exist and runs now. ALREADY_STARTED: it existed (the row
 * had not been marked). KNOWN: the row says it exists, or its status shows the workflow has run.
 */
export type WorkflowStart = 'NEWLY_STARTED' | 'ALREADY_STARTED' | 'KNOWN';

/** Starts `workflowType` under `options.workflowId` unless a run with that ID exists. */
export async function startOnce(
  temporal: Client,
  workflowType: string,
  options: Omit<WorkflowStartOptions, 'workflowIdReusePolicy' | 'workflowIdConflictPolicy'>,
): Promise<Exclude<WorkflowStart, 'KNOWN'>> {
  try {
    await temporal.workflow.start(workflowType, {
      ...options,
      workflowIdReusePolicy: 'REJECT_DUPLICATE',
      workflowIdConflictPolicy: 'FAIL',
    });
    return 'NEWLY_STARTED';
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    return 'ALREADY_STARTED';
  }
}
