// How a payment run tells its merchant: the first delivery try from the payment workflow itself,
// the rest of the schedule in a merchantNotification child only when that try fails; no save
// before the order changes, the paid order's save inside its workflow task (a local activity,
// an activity when that fails), and search attributes upserted only when they change.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { temporal } from '@temporalio/proto';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import type { MerchantEvent } from '../../src/domain/merchantEvents';
import { notify } from '../../src/workflows/contracts/payment';
import { recordMissingHistories } from '../support/history';
import { eventually } from '../support/system';
import {
  FakeChannel,
  input,
  payWith,
  runWorker,
  start,
  temporalClient,
} from '../support/workflowHarness';

const recorded: Record<string, string> = {};

/** A merchant endpoint that answers the tries listed in `failing` with an error. */
class FakeMerchant {
  recorded: MerchantEvent[] = [];
  tries: { eventId: string; attemptNo: number }[] = [];
  givenUp: string[] = [];
  constructor(private readonly failing: (attemptNo: number) => boolean) {}

  activities() {
    return {
      recordMerchantEvent: async (event: MerchantEvent) => {
        this.recorded.push(event);
        return true;
      },
      deliverMerchantEvent: async (attempt: { eventId: string; attemptNo: number }) => {
        this.tries.push(attempt);
        return !this.failing(attempt.attemptNo);
      },
      recordAndDeliverMerchantEvent: async (event: MerchantEvent) => {
        this.recorded.push(event);
        this.tries.push({ eventId: event.id, attemptNo: 1 });
        return this.failing(1) ? 'NOT_DELIVERED' : 'DELIVERED';
      },
      giveUpMerchantEvent: async ({ eventId }: { eventId: string }) => {
        this.givenUp.push(eventId);
      },
    };
  }
}

/** Books that refuse every write made inside a workflow task (as a local activity). */
class BooksRefusingLocalWrites extends FakeChannel {
  localTries = 0;

  protected override channelActivities() {
    const activities = super.channelActivities();
    const savePayOrder: typeof activities.savePayOrder = async (change) => {
      if (Context.current().info.isLocal) {
        this.localTries += 1;
        throw ApplicationFailure.nonRetryable('the books take no write for a moment');
      }
      return activities.savePayOrder(change);
    };
    return { ...activities, savePayOrder };
  }
}

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

function scheduledActivities(events: HistoryEvent[]): string[] {
  return events.flatMap((e) => e.activityTaskScheduledEventAttributes?.activityType?.name ?? []);
}

/** The local activities the run ran, in order (the SDK records each as a marker). */
function localActivities(events: HistoryEvent[]): string[] {
  return events.flatMap((e) => {
    const marker = e.markerRecordedEventAttributes;
    const data = marker?.details?.data?.payloads?.[0]?.data;
    if (marker?.markerName !== 'core_local_activity' || !data) return [];
    return [(JSON.parse(Buffer.from(data).toString()) as { activity_type: string }).activity_type];
  });
}

function childrenStarted(events: HistoryEvent[]): string[] {
  return events.flatMap(
    (e) => e.startChildWorkflowExecutionInitiatedEventAttributes?.workflowId ?? [],
  );
}

/** The search attributes each upsert wrote (the SDK's patch marker writes TemporalChangeVersion). */
function upsertedAttributes(events: HistoryEvent[]): string[][] {
  return events.flatMap((e) => {
    const fields = e.upsertWorkflowSearchAttributesEventAttributes?.searchAttributes?.indexedFields;
    return fields ? [Object.keys(fields).sort()] : [];
  });
}

async function paidOrder(taskQueue: string, retrySeconds: number[]) {
  const handle = await start(taskQueue, input({ merchantNotifyRetrySeconds: retrySeconds }));
  const { attempt } = await payWith(handle, 'page');
  await handle.signal(notify, {
    outTradeNo: attempt.outTradeNo,
    status: 'SUCCEEDED',
    amount: 500,
    source: 'notify',
  });
  await handle.result();
  return { handle, events: (await handle.fetchHistory()).events ?? [] };
}

describe('payment workflow telling its merchant', () => {
  it('delivers from the payment run itself when the merchant answers the first try', async () => {
    const channel = new FakeChannel();
    const merchant = new FakeMerchant(() => false);
    await runWorker({ ...channel.activities(), ...merchant.activities() }, async (taskQueue) => {
      const { handle, events } = await paidOrder(taskQueue, [1]);
      assert.deepEqual(
        merchant.recorded.map((e) => e.type),
        ['pay_order.succeeded'],
      );
      assert.deepEqual(merchant.tries, [{ eventId: merchant.recorded[0]!.id, attemptNo: 1 }]);
      assert.deepEqual(childrenStarted(events), [], 'no notification workflow was needed');
      // Nothing to save before the order changes; the event recorded and delivered in one go.
      // The channel order opened between its two saves, in one activity. The paid order's save is
      // a local activity: no activity task and no workflow task of its own.
      assert.deepEqual(scheduledActivities(events), [
        'openChannelOrderBetweenSaves',
        'recordAndDeliverMerchantEvent',
      ]);
      assert.deepEqual(localActivities(events), ['savePayOrder']);
      assert.deepEqual(
        channel.saved.map((s) => s.status),
        ['PAYING', 'PAYING', 'SUCCEEDED'],
      );
      // PayStatus changes CREATED → PAYING → SUCCEEDED: one upsert each, none for a save that
      // changed no attribute.
      // This harness starts the workflow without search attributes (the API sets PayStatus and
      // NeedsAttention at start), so the first save shows both.
      assert.deepEqual(upsertedAttributes(events), [
        ['TemporalChangeVersion'],
        ['NeedsAttention', 'PayStatus'],
        ['PayChannel', 'PayStatus'],
      ]);
      // One patch marker, for the current shape of the workflow, not one per change.
      assert.equal(
        events.filter((e) => e.markerRecordedEventAttributes?.markerName === 'core_patch').length,
        1,
      );
      recorded['local-records-merchant-told'] = historyToJSON(await handle.fetchHistory());
    });
  });

  it('hands the rest of the schedule to a notification workflow when the first try fails', async () => {
    const channel = new FakeChannel();
    const merchant = new FakeMerchant((attemptNo) => attemptNo === 1);
    await runWorker({ ...channel.activities(), ...merchant.activities() }, async (taskQueue) => {
      const { handle, events } = await paidOrder(taskQueue, [1, 1]);
      const eventId = merchant.recorded[0]!.id;
      assert.deepEqual(childrenStarted(events), [eventId]);
      const child = temporalClient().workflow.getHandle(eventId);
      assert.equal(await child.result(), 'DELIVERED');
      assert.equal(merchant.recorded.length, 1, 'the event is recorded once');
      assert.deepEqual(
        merchant.tries.map((t) => t.attemptNo),
        [1, 2],
      );
      recorded['local-records-first-try-failed'] = historyToJSON(await handle.fetchHistory());
    });
  });

  it('gives up at once when the first try fails and the schedule has no retries', async () => {
    const channel = new FakeChannel();
    const merchant = new FakeMerchant(() => true);
    await runWorker({ ...channel.activities(), ...merchant.activities() }, async (taskQueue) => {
      const { events } = await paidOrder(taskQueue, []);
      assert.deepEqual(childrenStarted(events), []);
      await eventually(async () => merchant.givenUp.length === 1, { what: 'the give-up' });
      assert.deepEqual(merchant.givenUp, [merchant.recorded[0]!.id]);
    });
  });
});

describe('payment workflow saving its order', () => {
  it('makes a save its workflow task could not make as an activity', async () => {
    const books = new BooksRefusingLocalWrites();
    const merchant = new FakeMerchant(() => false);
    await runWorker({ ...books.activities(), ...merchant.activities() }, async (taskQueue) => {
      const { events } = await paidOrder(taskQueue, [1]);
      assert.equal(books.localTries, 1);
      assert.deepEqual(localActivities(events), ['savePayOrder']);
      assert.deepEqual(scheduledActivities(events), [
        'openChannelOrderBetweenSaves',
        'savePayOrder',
        'recordAndDeliverMerchantEvent',
      ]);
      assert.equal(books.saved.at(-1)?.status, 'SUCCEEDED');
      // The merchant is told once the paid order is in the books.
      assert.deepEqual(
        merchant.recorded.map((e) => e.type),
        ['pay_order.succeeded'],
      );
    });
  });
});

after(() => recordMissingHistories(recorded));
