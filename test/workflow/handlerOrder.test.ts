// A message that waits on the serializer behind the run's own work keeps its place: an operator's
// attention signal that arrives while the run applies a fact is answered after it, and the run's
// next step (a patch marker here) comes first, as it did when these histories were recorded. The
// recordings (test/replay) make a change that lets a queued handler overtake the run's next
// command fail in replay. In-memory channel, real Temporal.
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, describe, it } from 'node:test';
import type { WorkflowHandle } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import type { PaymentActivities } from '../../src/activities/payment';
import { attention, notify, type PayOrderView } from '../../src/workflows/contracts/payment';
import { recordMissingHistories } from '../support/history';
import { eventually } from '../support/system';
import { FakeChannel, input, payWith, start, withWorker } from '../support/workflowHarness';

const recorded: Record<string, string> = {};
after(() => recordMissingHistories(recorded));

/** An in-memory channel whose books can hold one save of the pay order until released. */
class HeldBooks extends FakeChannel {
  private held: { entered: boolean; release: () => void; released: Promise<void> } | undefined;

  /** The next save of the pay order waits until `release()` (well within its 10 s timeout). */
  holdNextSave() {
    let release = () => {};
    const released = new Promise<void>((resolve) => (release = resolve));
    this.held = { entered: false, release, released };
  }

  async saveHeld() {
    await eventually(async () => this.held?.entered, { what: 'the held save to start' });
  }

  release() {
    this.held?.release();
    this.held = undefined;
  }

  protected override channelActivities() {
    const activities = super.channelActivities();
    const savePayOrder: PaymentActivities['savePayOrder'] = async (change) => {
      const held = this.held;
      if (held && !held.entered) {
        held.entered = true;
        await held.released;
      }
      return activities.savePayOrder(change);
    };
    return { ...activities, savePayOrder };
  }
}

/** Waits until the workflow has run a task since the last `attention` signal reached it. */
async function attentionQueued(handle: WorkflowHandle) {
  await eventually(
    async () => {
      const events = (await handle.fetchHistory()).events ?? [];
      const signaled = events.map(
        (e) => e.workflowExecutionSignaledEventAttributes?.signalName === attention.name,
      );
      const last = signaled.lastIndexOf(true);
      return last >= 0 && events.slice(last).some((e) => e.workflowTaskCompletedEventAttributes);
    },
    { what: 'the attention signal to reach the workflow' },
  );
}

const success = (outTradeNo: string) =>
  ({ outTradeNo, status: 'SUCCEEDED', amount: 500, source: 'notify' }) as const;

describe('payment workflow: a handler queued behind the run', () => {
  it('an attention signal that arrives while the order is being paid is answered after it', async () => {
    const channel = new HeldBooks();
    await withWorker(channel, async (taskQueue) => {
      const handle = await start(taskQueue, input());
      const { attempt } = await payWith(handle, 'page');
      channel.holdNextSave();
      await handle.signal(notify, success(attempt.outTradeNo));
      await channel.saveHeld();
      await handle.signal(attention, 'reconciliation: an operator should look');
      await attentionQueued(handle);
      channel.release();
      const result: PayOrderView = await handle.result();
      assert.equal(result.status, 'SUCCEEDED');
      assert.equal(result.needsAttention, true);
      recorded['attention-queued-while-paid'] = historyToJSON(await handle.fetchHistory());
    });
  });

  it('an attention signal that arrives as the late window ends is answered after the late success', async () => {
    const channel = new HeldBooks();
    await withWorker(channel, async (taskQueue) => {
      const handle = await start(
        taskQueue,
        input({ expiresAt: new Date(Date.now() + 2000).toISOString(), lateWindowSeconds: 3 }),
      );
      const { attempt } = await payWith(handle, 'page');
      await eventually(async () => channel.merchantEvents.includes('pay_order.closed'), {
        what: 'the order to close at expiry',
      });
      channel.holdNextSave();
      await handle.signal(notify, success(attempt.outTradeNo));
      await channel.saveHeld();
      await handle.signal(attention, 'reconciliation: an operator should look');
      await attentionQueued(handle);
      // The late window ends while the late success is being saved.
      await sleep(3500);
      channel.release();
      const result: PayOrderView = await handle.result();
      assert.equal(result.status, 'CLOSED');
      assert.equal(result.needsAttention, true);
      assert.deepEqual(
        result.refunds.map((r) => [r.reason, r.status]),
        [['LATE_PAYMENT', 'SUCCEEDED']],
      );
      recorded['attention-queued-as-late-window-ends'] = historyToJSON(await handle.fetchHistory());
    });
  });
});
