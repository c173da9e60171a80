// The books of merchant notifications: each event stored once for its pay order's notify URL,
// every delivery try, and the event's final status.
import { and, eq, inArray, sql } from 'drizzle-orm';
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
      // The event's own time, which its body carries: the merchant's event list sorts by it.
      createdAt: new Date(event.createdAt),
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

/** What one POST to the merchant came to. */
export interface DeliveryTry {
  eventId: string;
  responseStatus: number | null;
  error: string | null;
  durationMs: number;
}

/** Records one try of the event's schedule (once per try number) and, when taken, the delivery. */
export async function recordDeliveryTry(
  db: Db,
  attempt: DeliveryTry & { attemptNo: number },
): Promise<void> {
  const row = { id: newId('dlv', Date.now(), Math.random), trigger: 'SCHEDULE', ...attempt };
  await recordTry(db, row, ['PENDING']);
}

/**
 * Records one redelivery (once per redelivery ID) and, when the merchant took it, the delivery:
 * also of an event whose schedule had given up (FAILED).
 */
export async function recordRedelivery(
  db: Db,
  redelivery: DeliveryTry & { id: string },
): Promise<void> {
  await recordTry(db, { ...redelivery, trigger: 'REDELIVERY' }, ['PENDING', 'FAILED']);
}

/** The recorded outcome of a redelivery, if it is recorded. */
export async function recordedRedelivery(db: Db, id: string) {
  const [row] = await db
    .select({ error: merchantNotificationDeliveries.error })
    .from(merchantNotificationDeliveries)
    .where(eq(merchantNotificationDeliveries.id, id));
  return row;
}

async function recordTry(
  db: Db,
  row: typeof merchantNotificationDeliveries.$inferInsert & DeliveryTry,
  deliverableFrom: string[],
): Promise<void> {
  await db.transaction(async (tx) => {
    await tx.insert(merchantNotificationDeliveries).values(row).onConflictDoNothing();
    if (row.error === null) {
      await tx
        .update(merchantNotifications)
        .set({ status: 'DELIVERED', deliveredAt: sql`now()` })
        .where(
          and(
            eq(merchantNotifications.eventId, row.eventId),
            inArray(merchantNotifications.status, deliverableFrom),
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
