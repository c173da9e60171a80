// Side effects of telling merchants: record the event once, POST it signed, record every try.
// The books are read and written by src/db/books/merchantNotifications.ts.
import type { Db } from '../db/client';
import * as books from '../db/books/merchantNotifications';
import type { MerchantEvent } from '../domain/merchantEvents';
import type { MerchantRedeliveryInput } from '../workflows/contracts/merchantNotification';
import {
  merchantEventIdHeader,
  merchantSignatureHeader,
  signMerchantNotification,
} from '../domain/merchantSignature';
import type { WorkerMetrics } from '../metrics';
import type { AddressPolicy } from '../services/merchantUrls';
import { openNotifySecrets, signingSecrets } from '../services/notifySecrets';
import type { SecretBox } from '../services/secretBox';
import { postToMerchant } from './merchantDelivery';

/** What the first delivery try of a new event came to. */
export type FirstTry = 'DELIVERED' | 'NOT_DELIVERED' | 'NO_NOTIFY_URL';

export function createMerchantNotificationActivities({
  db,
  timeoutMs,
  addressPolicy,
  secretBox,
  metrics,
}: {
  db: Db;
  timeoutMs: number;
  addressPolicy: AddressPolicy;
  secretBox: SecretBox;
  metrics: WorkerMetrics;
}) {
  async function eventToDeliver(eventId: string) {
    const row = await books.merchantEventToDeliver(db, eventId);
    if (!row) throw new Error(`no merchant event ${eventId}`);
    return row;
  }

  /** POSTs the stored event, signed with the merchant's current secrets. */
  async function post(
    eventId: string,
    row: NonNullable<Awaited<ReturnType<typeof books.merchantEventToDeliver>>>,
  ) {
    const body = JSON.stringify(row.payload);
    const now = new Date();
    const secrets = signingSecrets(openNotifySecrets(secretBox, row.storedSecrets), now);
    const outcome = await postToMerchant(
      row.url,
      {
        'content-type': 'application/json',
        [merchantEventIdHeader]: eventId,
        [merchantSignatureHeader]: signMerchantNotification(secrets, body, now.getTime()),
      },
      body,
      { policy: addressPolicy, timeoutMs },
    );
    metrics.merchantDeliveries.inc({ outcome: outcome.error ?? 'DELIVERED' });
    return outcome;
  }

  const activities = {
    /** Stores the event unless stored already; answers false when the order has no notify URL. */
    async recordMerchantEvent(event: MerchantEvent): Promise<boolean> {
      return books.storeMerchantEvent(db, event);
    },

    /** One delivery try; answers whether the merchant took it (2xx). Never throws for the merchant's faults. */
    async deliverMerchantEvent({ eventId, attemptNo }: { eventId: string; attemptNo: number }) {
      const row = await eventToDeliver(eventId);
      if (row.status === 'DELIVERED') return true;
      const outcome = await post(eventId, row);
      await books.recordDeliveryTry(db, { eventId, attemptNo, ...outcome });
      return outcome.error === null;
    },

    /**
     * One redelivery asked for after the event's own tries (POST /v1/events/{id}/redeliver): a POST
     * whatever the event's status, recorded under the redelivery's ID, so a retry of this activity
     * after the record answers it without a second POST.
     */
    async redeliverMerchantEvent({ eventId, redeliveryId }: MerchantRedeliveryInput) {
      const recorded = await books.recordedRedelivery(db, redeliveryId);
      if (recorded) return recorded.error === null;
      const outcome = await post(eventId, await eventToDeliver(eventId));
      await books.recordRedelivery(db, { id: redeliveryId, eventId, ...outcome });
      return outcome.error === null;
    },

    /**
     * Records a new event and makes its first delivery try, in one activity: how the payment
     * workflow tells its merchant (src/workflows/merchantNotification.ts, `tellMerchant`).
     */
    async recordAndDeliverMerchantEvent(event: MerchantEvent): Promise<FirstTry> {
      if (!(await activities.recordMerchantEvent(event))) return 'NO_NOTIFY_URL';
      const delivered = await activities.deliverMerchantEvent({ eventId: event.id, attemptNo: 1 });
      return delivered ? 'DELIVERED' : 'NOT_DELIVERED';
    },

    /** The schedule is exhausted: an operator has to reach the merchant. */
    async giveUpMerchantEvent({ eventId }: { eventId: string }) {
      if (await books.giveUpMerchantEvent(db, eventId)) metrics.merchantNotificationsGivenUp.inc();
    },
  };
  return activities;
}

export type MerchantNotificationActivities = ReturnType<
  typeof createMerchantNotificationActivities
>;
