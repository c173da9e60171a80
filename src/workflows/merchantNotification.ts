// Telling a merchant about one event (contract: ./contracts/merchantNotification.ts): deliver it
// until the merchant answers 2xx, on a schedule, recording every try. The payment workflow makes
// the first try itself (`tellMerchant`) and hands the rest of the schedule to the
// merchantNotification workflow only when that try fails; the refund workflows start that
// workflow for every event. Either way it outlives the workflow that started it.
import { ParentClosePolicy, proxyActivities, sleep, startChild } from '@temporalio/workflow';
import type { MerchantNotificationActivities } from '../activities/merchantNotifications';
import { newId } from '../domain/ids';
import type { MerchantEvent, MerchantEventData, MerchantEventType } from '../domain/merchantEvents';
import {
  merchantNotificationWorkflowId,
  type MerchantNotificationInput,
  type MerchantNotificationOutcome,
  type MerchantRedeliveryInput,
} from './contracts/merchantNotification';

const records = proxyActivities<MerchantNotificationActivities>({
  startToCloseTimeout: '30s',
  retry: { initialInterval: '1s', maximumInterval: '1m' },
});

export async function merchantNotification({
  event,
  retrySeconds,
  triesDone = 0,
}: MerchantNotificationInput): Promise<MerchantNotificationOutcome> {
  if (triesDone === 0 && !(await records.recordMerchantEvent(event))) return 'NO_NOTIFY_URL';
  for (let attemptNo = triesDone + 1; ; attemptNo++) {
    if (attemptNo > 1) {
      // The wait after the previous try, whoever made it.
      const delay = retrySeconds[attemptNo - 2];
      if (delay === undefined) break;
      await sleep(delay * 1000, {
        summary: `then try ${event.type} ${event.id} again (try ${attemptNo})`,
      });
    }
    if (await records.deliverMerchantEvent({ eventId: event.id, attemptNo })) return 'DELIVERED';
  }
  await records.giveUpMerchantEvent({ eventId: event.id });
  return 'FAILED';
}

/** One more try of a stored event, after its own schedule (contract: MerchantRedeliveryInput). */
export async function merchantRedelivery(
  input: MerchantRedeliveryInput,
): Promise<'DELIVERED' | 'NOT_DELIVERED'> {
  return (await records.redeliverMerchantEvent(input)) ? 'DELIVERED' : 'NOT_DELIVERED';
}

function newMerchantEvent(type: MerchantEventType, data: MerchantEventData): MerchantEvent {
  const id = newId('evt', Date.now(), Math.random);
  return { id, type, createdAt: new Date(Date.now()).toISOString(), data };
}

/** Starts the delivery of one new event as a child that runs on after its parent completes. */
export async function startMerchantNotification(
  type: MerchantEventType,
  data: MerchantEventData,
  retrySeconds: number[],
): Promise<void> {
  await handToNotificationWorkflow(newMerchantEvent(type, data), retrySeconds, 0);
}

/**
 * Records one new event and makes its first delivery try from the calling workflow, in one
 * activity: most merchants answer the first time, and then no other workflow is needed. A failed
 * try hands the rest of the schedule to a merchantNotification child, which outlives the caller.
 */
export async function tellMerchant(
  type: MerchantEventType,
  data: MerchantEventData,
  retrySeconds: number[],
): Promise<void> {
  const event = newMerchantEvent(type, data);
  const firstTry = await records.recordAndDeliverMerchantEvent.executeWithOptions(
    { summary: `tell the merchant ${type} (${event.id})` },
    [event],
  );
  if (firstTry !== 'NOT_DELIVERED') return;
  if (retrySeconds.length === 0) {
    await records.giveUpMerchantEvent({ eventId: event.id });
    return;
  }
  await handToNotificationWorkflow(event, retrySeconds, 1);
}

async function handToNotificationWorkflow(
  event: MerchantEvent,
  retrySeconds: number[],
  triesDone: number,
): Promise<void> {
  await startChild(merchantNotification, {
    workflowId: merchantNotificationWorkflowId(event.id),
    parentClosePolicy: ParentClosePolicy.ABANDON,
    args: [{ event, retrySeconds, ...(triesDone > 0 ? { triesDone } : {}) }],
  });
}
