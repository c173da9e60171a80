// The merchantNotification workflow's contract: delivers one merchant event until the merchant
// answers 2xx or the schedule is exhausted. Keyed by the event's ID (`evt_…`); the payment,
// merchantRefund and strayPayment workflows start it as a child that outlives them.
import type { MerchantEvent } from '../../domain/merchantEvents';
import { workflowContract } from './contract';

export interface MerchantNotificationInput {
  event: MerchantEvent;
  retrySeconds: number[];
  /**
   * Tries its starter made already (the payment workflow makes the first itself): the event is
   * recorded, and the next try waits `retrySeconds[triesDone - 1]`. Absent: none.
   */
  triesDone?: number;
}

/** NO_NOTIFY_URL: the merchant gets no notifications; nothing was sent. */
export type MerchantNotificationOutcome = 'DELIVERED' | 'FAILED' | 'NO_NOTIFY_URL';

export const merchantNotificationWorkflow = workflowContract<
  MerchantNotificationInput,
  MerchantNotificationOutcome
>()('merchantNotification');

/** A merchant event's delivery runs under the event's ID. */
export function merchantNotificationWorkflowId(eventId: string): string {
  return eventId;
}
