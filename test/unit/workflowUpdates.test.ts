// An Update that no run took is sent again; one a run refused or failed is not.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { WorkflowUpdateFailedError, type WorkflowHandle } from '@temporalio/client';
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

  it('does not send again an Update the workflow refused', async () => {
    const refusal = refused('ALREADY_PAID');
    const { update, calls } = updateFailing([refusal]);
    await assert.rejects(updateAcrossRuns(handle, update), (err) => err === refusal);
    assert.equal(calls(), 1);
  });
});
