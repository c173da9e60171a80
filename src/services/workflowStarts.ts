// The one way services start workflows: by contract (src/workflows/contracts), never by a type name
// string. A start under an ID whose run exists is rejected by Temporal, which means the workflow
// exists: that is reported, not thrown, and each caller says what it means for it.
import {
  WorkflowExecutionAlreadyStartedError,
  type Client,
  type WorkflowHandle,
  type WorkflowOptions,
} from '@temporalio/client';
import type { AnyWorkflowContract, InputOf, WorkflowOf } from '../workflows/contracts/contract';

/**
 * NEWLY_STARTED: the workflow did not exist and runs now. ALREADY_STARTED: it existed (the row
 * had not been marked). KNOWN: the row says it exists, or its status shows the workflow has run.
 */
export type WorkflowStart = 'NEWLY_STARTED' | 'ALREADY_STARTED' | 'KNOWN';

export interface WorkflowStartRequest<C extends AnyWorkflowContract> extends Omit<
  WorkflowOptions,
  'workflowIdReusePolicy' | 'workflowIdConflictPolicy'
> {
  input: InputOf<C>;
  /**
   * ONCE: the ID runs once ever (REJECT_DUPLICATE). AFTER_CLOSE: a closed run may be followed by
   * another (ALLOW_DUPLICATE). Either way a running workflow is never doubled.
   */
  reuse: 'ONCE' | 'AFTER_CLOSE';
}

export interface StartedWorkflow<C extends AnyWorkflowContract> {
  start: Exclude<WorkflowStart, 'KNOWN'>;
  /** The run just started, or (ALREADY_STARTED) whichever run holds the ID. */
  handle: WorkflowHandle<WorkflowOf<C>>;
}

/** Starts the contract's workflow under `request.workflowId` unless a run with that ID exists. */
export async function startWorkflow<C extends AnyWorkflowContract>(
  temporal: Client,
  contract: C,
  { input, reuse, ...options }: WorkflowStartRequest<C>,
): Promise<StartedWorkflow<C>> {
  try {
    const handle = await temporal.workflow.start<WorkflowOf<C>>(contract.type, {
      ...options,
      args: [input] as Parameters<WorkflowOf<C>>,
      workflowIdReusePolicy: reuse === 'ONCE' ? 'REJECT_DUPLICATE' : 'ALLOW_DUPLICATE',
      workflowIdConflictPolicy: 'FAIL',
    });
    return { start: 'NEWLY_STARTED', handle };
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    return {
      start: 'ALREADY_STARTED',
      handle: temporal.workflow.getHandle<WorkflowOf<C>>(options.workflowId),
    };
  }
}
