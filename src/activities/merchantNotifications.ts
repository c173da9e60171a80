// Side effects of telling merchants: record the event once, POST it signed, record every try.
// The books are read and written by src/db/books/merchantNotifications.ts.
import type { Db } from '../db/client';
import * as books from '../db/books/merchantNotifications';
import type { MerchantEvent } from '../domain/merchantEvents';
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
  return {
    /** Stores the event unless stored already; answers false when the order has no notify URL. */
    async recordMerchantEvent(event: MerchantEvent): Promise<boolean> {
      return books.storeMerchantEvent(db, event);
    },

    /** One delivery try; answers whether the merchant took it (2xx). Never throws for the merchant's faults. */
    async deliverMerchantEvent({ eventId, attemptNo }: { eventId: string; attemptNo: number }) {
      const row = await books.merchantEventToDeliver(db, eventId);
      if (!row) throw new Error(`no merchant event ${eventId}`);
      if (row.status === 'DELIVERED') return true;

      const body = JSON.stringify(row.payload);
      const now = new Date();
      const secrets = signingSecrets(openNotifySecrets(secretBox, row.storedSecrets), now);
      const { responseStatus, error } = await postToMerchant(
        row.url,
        {
          'content-type': 'application/json',
          [merchantEventIdHeader]: eventId,
          [merchantSignatureHeader]: signMerchantNotification(secrets, body, now.getTime()),
        },
        body,
        { policy: addressPolicy, timeoutMs },
      );
      await books.recordDeliveryTry(db, { eventId, attemptNo, responseStatus, error });
      metrics.merchantDeliveries.inc({ outcome: error ?? 'DELIVERED' });
      return error === null;
    },

    /** The schedule is exhausted: an operator has to reach the merchant. */
    async giveUpMerchantEvent({ eventId }: { eventId: string }) {
      if (await books.giveUpMerchantEvent(db, eventId)) metrics.merchantNotificationsGivenUp.inc();
    },
  };
}

export type MerchantNotificationActivities = ReturnType<
  typeof createMerchantNotificationActivities
>;
