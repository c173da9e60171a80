// One workflow per merchant event (contract: ./contracts/merchantNotification.ts): deliver it
// until the merchant answers 2xx, on a schedule, recording every try. It outlives the payment
// workflow that started it.
import { ParentClosePolicy, proxyActivities, sleep, startChild } from '@temporalio/workflow';
import type { MerchantNotificationActivities } from '../activities/merchantNotifications';
import { newId } from '../domain/ids';
import type { MerchantEventData, MerchantEventType } from '../domain/merchantEvents';
import {
  merchantNotificationWorkflowId,
  type MerchantNotificationInput,
  type MerchantNotificationOutcome,
} from './contracts/merchantNotification';

const records = proxyActivities<MerchantNotificationActivities>({
  startToCloseTimeout: '30s',
  retry: { initialInterval: '1s', maximumInterval: '1m' },
});

export async function merchantNotification({
  event,
  retrySeconds,
}: MerchantNotificationInput): Promise<MerchantNotificationOutcome> {
  if (!(await records.recordMerchantEvent(event))) return 'NO_NOTIFY_URL';
  for (let attemptNo = 1; ; attemptNo++) {
    if (await records.deliverMerchantEvent({ eventId: event.id, attemptNo })) return 'DELIVERED';
    const delay = retrySeconds[attemptNo - 1];
    if (delay === undefined) break;
    await sleep(delay * 1000);
  }
  await records.giveUpMerchantEvent({ eventId: event.id });
  return 'FAILED';
}

/** Starts the delivery of one new event as a child that runs on after its parent completes. */
export async function startMerchantNotification(
  type: MerchantEventType,
  data: MerchantEventData,
  retrySeconds: number[],
): Promise<void> {
  const id = newId('evt', Date.now(), Math.random);
  await startChild(merchantNotification, {
    workflowId: merchantNotificationWorkflowId(id),
    parentClosePolicy: ParentClosePolicy.ABANDON,
    args: [
      { event: { id, type, createdAt: new Date(Date.now()).toISOString(), data }, retrySeconds },
    ],
  });
}
