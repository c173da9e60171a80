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

/**
 * One more POST of a stored event, asked for by its merchant or an operator after its own tries:
 * whatever the event's status, and recorded as a try of its own. Keyed by the redelivery's ID
 * (`dlv_…`), which is also its try's ID in the books.
 */
export interface MerchantRedeliveryInput {
  eventId: string;
  redeliveryId: string;
}

export const merchantRedeliveryWorkflow = workflowContract<
  MerchantRedeliveryInput,
  'DELIVERED' | 'NOT_DELIVERED'
>()('merchantRedelivery');

/** A redelivery runs under its own ID, which its try keeps in the books. */
export function merchantRedeliveryWorkflowId(redeliveryId: string): string {
  return redeliveryId;
}
