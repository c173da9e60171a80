// Side effects of telling merchants: record the event once, POST it signed, record every try.
import { and, eq, sql } from 'drizzle-orm';
import type { Db } from '../db/client';
import {
  merchantNotificationDeliveries,
  merchantNotifications,
  merchants,
  payOrders,
} from '../db/schema';
import { newId } from '../domain/ids';
import type { MerchantEvent } from '../domain/merchantEvents';
import {
  merchantEventIdHeader,
  merchantSignatureHeader,
  signMerchantNotification,
} from '../domain/merchantSignature';
import type { AddressPolicy } from '../services/merchantUrls';
import { openNotifySecrets, signingSecrets } from '../services/notifySecrets';
import type { SecretBox } from '../services/secretBox';
import { postToMerchant } from './merchantDelivery';

export function createMerchantNotificationActivities({
  db,
  timeoutMs,
  addressPolicy,
  secretBox,
}: {
  db: Db;
  timeoutMs: number;
  addressPolicy: AddressPolicy;
  secretBox: SecretBox;
}) {
  return {
    /** Stores the event unless stored already; answers false when the order has no notify URL. */
    async recordMerchantEvent(event: MerchantEvent): Promise<boolean> {
      const [order] = await db
        .select({ merchantId: payOrders.merchantId, notifyUrl: payOrders.notifyUrl })
        .from(payOrders)
        .where(eq(payOrders.id, event.data.payOrderId));
      if (!order?.notifyUrl) return false;
      await db
        .insert(merchantNotifications)
        .values({
          eventId: event.id,
          merchantId: order.merchantId,
          payOrderId: event.data.payOrderId,
          type: event.type,
          url: order.notifyUrl,
          payload: event,
        })
        .onConflictDoNothing();
      return true;
    },

    /** One delivery try; answers whether the merchant took it (2xx). Never throws for the merchant's faults. */
    async deliverMerchantEvent({ eventId, attemptNo }: { eventId: string; attemptNo: number }) {
      const [row] = await db
        .select({
          url: merchantNotifications.url,
          payload: merchantNotifications.payload,
          status: merchantNotifications.status,
          storedSecrets: merchants.notifySecret,
        })
        .from(merchantNotifications)
        .innerJoin(merchants, eq(merchants.id, merchantNotifications.merchantId))
        .where(eq(merchantNotifications.eventId, eventId));
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
      const delivered = error === null;
      await db.transaction(async (tx) => {
        await tx
          .insert(merchantNotificationDeliveries)
          .values({
            id: newId('dlv', Date.now(), Math.random),
            eventId,
            attemptNo,
            responseStatus,
            error,
          })
          .onConflictDoNothing();
        if (delivered) {
          await tx
            .update(merchantNotifications)
            .set({ status: 'DELIVERED', deliveredAt: sql`now()` })
            .where(
              and(
                eq(merchantNotifications.eventId, eventId),
                eq(merchantNotifications.status, 'PENDING'),
              ),
            );
        }
      });
      return delivered;
    },

    /** The schedule is exhausted: an operator has to reach the merchant. */
    async giveUpMerchantEvent({ eventId }: { eventId: string }) {
      await db
        .update(merchantNotifications)
        .set({ status: 'FAILED' })
        .where(
          and(
            eq(merchantNotifications.eventId, eventId),
            eq(merchantNotifications.status, 'PENDING'),
          ),
        );
    },
  };
}

export type MerchantNotificationActivities = ReturnType<
  typeof createMerchantNotificationActivities
>;
