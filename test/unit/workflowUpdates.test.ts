// An Update that no run took is sent again; one a run refused or failed is not.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  type WorkflowHandle,
} from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { unprocessedUpdate, updateAcrossRuns } from '../../src/services/workflowUpdates';
import { handOver } from '../../src/workflows/contracts/payment';

const handle = {} as WorkflowHandle;

function refused(type: string) {
  return new WorkflowUpdateFailedError(
    'Workflow Update failed',
    ApplicationFailure.create({ type, nonRetryable: true, message: type }),
  );
}

/** An Update that fails with `failures` in turn, then answers 'done'. */
function updateFailing(failures: Error[]) {
  let calls = 0;
  const update = async () => {
    const failure = failures[calls++];
    if (failure) throw failure;
    return 'done';
  };
  return { update, calls: () => calls };
}

describe('updateAcrossRuns', () => {
  it('sends again an Update Temporal handed back unprocessed', async () => {
    const { update, calls } = updateFailing([
      refused(unprocessedUpdate),
      refused(unprocessedUpdate),
    ]);
    assert.equal(await updateAcrossRuns(handle, update), 'done');
    assert.equal(calls(), 3);
  });

  it('sends again an Update refused while the run hands over to a new one', async () => {
    const { update, calls } = updateFailing([refused(handOver)]);
    assert.equal(await updateAcrossRuns(handle, update), 'done');
    assert.equal(calls(), 2);
  });

  // Over the native connection the error Temporal's "workflow execution already completed" becomes
  // has no message: only its class says the run had completed.
  const completedRun = () => new WorkflowNotFoundError('', 'po_1', undefined);
  const described = (answer: string | Error) =>
    ({
      describe: async () => {
        if (answer instanceof Error) throw answer;
        return { status: { name: answer } };
      },
    }) as unknown as WorkflowHandle;

  it('sends again an Update that reached a completed run while the workflow runs on', async () => {
    const { update, calls } = updateFailing([completedRun()]);
    assert.equal(await updateAcrossRuns(described('RUNNING'), update), 'done');
    assert.equal(calls(), 2);
  });

  it('does not send again an Update whose workflow has completed, or was never started', async () => {
    for (const answer of ['COMPLETED', new WorkflowNotFoundError('', 'po_1', undefined)]) {
      const gone = completedRun();
      const { update, calls } = updateFailing([gone]);
      await assert.rejects(updateAcrossRuns(described(answer), update), (err) => err === gone);
      assert.equal(calls(), 1);
    }
  });

  it('does not send again an Update the workflow refused', async () => {
    const refusal = refused('ALREADY_PAID');
    const { update, calls } = updateFailing([refusal]);
    await assert.rejects(updateAcrossRuns(handle, update), (err) => err === refusal);
    assert.equal(calls(), 1);
  });
});
