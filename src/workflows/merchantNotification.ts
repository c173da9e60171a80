// One workflow per merchant event (ID = event ID): deliver it until the merchant answers 2xx,
// on a schedule, recording every try. It outlives the payment workflow that started it.
import { proxyActivities, sleep } from '@temporalio/workflow';
import type { MerchantNotificationActivities } from '../activities/merchantNotifications';
import type { MerchantEvent } from '../domain/merchantEvents';

const records = proxyActivities<MerchantNotificationActivities>({
  startToCloseTimeout: '30s',
  retry: { initialInterval: '1s', maximumInterval: '1m' },
});

export interface MerchantNotificationInput {
  event: MerchantEvent;
  retrySeconds: number[];
}

export async function merchantNotification({
  event,
  retrySeconds,
}: MerchantNotificationInput): Promise<'DELIVERED' | 'FAILED' | 'NO_NOTIFY_URL'> {
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
