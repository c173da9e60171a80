// The books of merchant notifications: each event stored once for its pay order's notify URL,
// every delivery try, and the event's final status.
import { and, eq, sql } from 'drizzle-orm';
import type { Db } from '../client';
import {
  merchantNotificationDeliveries,
  merchantNotifications,
  merchants,
  payOrders,
} from '../schema';
import { newId } from '../../domain/ids';
import type { MerchantEvent } from '../../domain/merchantEvents';

/** Stores the event unless stored already; answers false when its pay order has no notify URL. */
export async function storeMerchantEvent(db: Db, event: MerchantEvent): Promise<boolean> {
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
}

/** A stored event, where it goes, its status, and its merchant's notify secrets as stored (sealed). */
export async function merchantEventToDeliver(db: Db, eventId: string) {
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
  return row;
}

/** Records one delivery try (once per try number) and, when the merchant took it, the delivery. */
export async function recordDeliveryTry(
  db: Db,
  attempt: {
    eventId: string;
    attemptNo: number;
    responseStatus: number | null;
    error: string | null;
  },
): Promise<void> {
  const { eventId } = attempt;
  await db.transaction(async (tx) => {
    await tx
      .insert(merchantNotificationDeliveries)
      .values({ id: newId('dlv', Date.now(), Math.random), ...attempt })
      .onConflictDoNothing();
    if (attempt.error === null) {
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
}

/** The event's retries are exhausted: FAILED, unless delivered meanwhile. */
export async function giveUpMerchantEvent(db: Db, eventId: string): Promise<boolean> {
  const given = await db
    .update(merchantNotifications)
    .set({ status: 'FAILED' })
    .where(
      and(eq(merchantNotifications.eventId, eventId), eq(merchantNotifications.status, 'PENDING')),
    )
    .returning({ eventId: merchantNotifications.eventId });
  return given.length > 0;
}
