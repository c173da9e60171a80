// The events paycenter owes a merchant, as the merchant API shows them (/v1/events): each event
// with every POST made to the merchant, and redelivery on request. An event is stored when its
// pay order has a notify URL (src/db/books/merchantNotifications.ts); its tries are made by the
// worker, redeliveries too (the merchantRedelivery workflow).
import type { Client } from '@temporalio/client';
import { and, asc, eq, inArray, sql, type SQL } from 'drizzle-orm';
import type { Logger } from 'pino';
import type { Db } from '../db/client';
import {
  cursorTime,
  newestFirst,
  pageConditions,
  pageOf,
  type PageQuery,
} from '../db/books/listPages';
import { auditLog, merchantNotificationDeliveries, merchantNotifications } from '../db/schema';
import { DomainError } from '../domain/errors';
import { newId } from '../domain/ids';
import type { MerchantEvent } from '../domain/merchantEvents';
import {
  merchantRedeliveryWorkflow,
  merchantRedeliveryWorkflowId,
} from '../workflows/contracts/merchantNotification';
import { recordAudit } from './audit';
import { startWorkflow } from './workflowStarts';

type EventRow = typeof merchantNotifications.$inferSelect;
type TryRow = typeof merchantNotificationDeliveries.$inferSelect;

/** Which of a merchant's events to list, and where the page starts. */
export interface EventListQuery extends PageQuery {
  type?: string | undefined;
  payOrderId?: string | undefined;
  status?: string | undefined;
}

/**
 * An event's tries in the order they were made, numbered from 1: the schedule's own and the
 * redeliveries between or after them.
 */
export function triesInOrder(rows: TryRow[]) {
  return [...rows]
    .sort((a, b) => a.attemptedAt.getTime() - b.attemptedAt.getTime() || a.id.localeCompare(b.id))
    .map((t, i) => ({
      id: t.id,
      attemptNo: i + 1,
      trigger: t.trigger as 'SCHEDULE' | 'REDELIVERY',
      attemptedAt: t.attemptedAt.toISOString(),
      responseStatus: t.responseStatus,
      durationMs: t.durationMs,
      error: t.error,
    }));
}

/** The tries of the given events, read in the caller's snapshot. */
export async function triesOf(db: Pick<Db, 'select'>, eventIds: string[]) {
  if (eventIds.length === 0) return new Map<string, ReturnType<typeof triesInOrder>>();
  const rows = await db
    .select()
    .from(merchantNotificationDeliveries)
    .where(inArray(merchantNotificationDeliveries.eventId, eventIds))
    .orderBy(asc(merchantNotificationDeliveries.attemptedAt));
  return new Map(
    eventIds.map((id) => [id, triesInOrder(rows.filter((t) => t.eventId === id))] as const),
  );
}

function summary(row: EventRow) {
  const event = row.payload as MerchantEvent;
  return {
    id: row.eventId,
    type: event.type,
    createdAt: event.createdAt,
    payOrderId: row.payOrderId,
    status: row.status as 'PENDING' | 'DELIVERED' | 'FAILED',
    deliveredAt: row.deliveredAt?.toISOString() ?? null,
    notifyUrl: row.url,
    data: event.data,
  };
}

export interface MerchantEventDeps {
  db: Db;
  temporal: Client;
  taskQueue: string;
  log: Logger;
}

export function createMerchantEventService({ db, temporal, taskQueue, log }: MerchantEventDeps) {
  /** The event, as its merchant sees it (`merchantId`) or as an operator does (any merchant's). */
  async function find(merchantId: string | undefined, id: string, reader: Pick<Db, 'select'> = db) {
    const [row] = await reader
      .select()
      .from(merchantNotifications)
      .where(
        and(
          eq(merchantNotifications.eventId, id),
          merchantId ? eq(merchantNotifications.merchantId, merchantId) : undefined,
        ),
      );
    // Another merchant's event answers exactly like a missing one.
    if (!row) throw new DomainError('NOT_FOUND', `no event ${id}`);
    return row;
  }

  return {
    /** The merchant's events, newest first, a page at a time (src/db/books/listPages.ts). */
    async list(merchantId: string, query: EventListQuery) {
      const keys = {
        createdAt: merchantNotifications.createdAt,
        id: merchantNotifications.eventId,
      };
      const conditions: SQL[] = [eq(merchantNotifications.merchantId, merchantId)];
      if (query.type) conditions.push(eq(merchantNotifications.type, query.type));
      if (query.payOrderId) conditions.push(eq(merchantNotifications.payOrderId, query.payOrderId));
      if (query.status) conditions.push(eq(merchantNotifications.status, query.status));
      const rows = await db
        .select({ row: merchantNotifications, createdAt: cursorTime(keys) })
        .from(merchantNotifications)
        .where(and(...conditions, ...pageConditions(keys, query)))
        .orderBy(...newestFirst(keys))
        .limit(query.limit + 1);
      const { page, nextCursor } = pageOf(rows, query.limit, (r) => ({
        createdAt: r.createdAt,
        id: r.row.eventId,
      }));
      return { items: page.map((r) => summary(r.row)), nextCursor };
    },

    /**
     * One event with every try, read from one snapshot: a try and the DELIVERED it makes are
     * written together, and are seen together.
     */
    async get(merchantId: string, id: string) {
      return db.transaction(
        async (tx) => {
          const row = await find(merchantId, id, tx);
          const tries = await triesOf(tx, [id]);
          return { ...summary(row), attempts: tries.get(id) ?? [] };
        },
        { isolationLevel: 'repeatable read', accessMode: 'read only' },
      );
    },

    /**
     * Sends the event once more, whatever its status (a FAILED one is DELIVERED if the merchant
     * takes it). The try is made by the worker; its outcome shows in the event's attempts under
     * the answered ID. Each call is one more try: the Idempotency-Key header makes a repeat of
     * the same request answer the first one's redelivery instead. A caller may name the
     * redelivery's ID (the ops console's form does): a repeat under it starts nothing and answers
     * `start: ALREADY_STARTED`. `merchantId` undefined: an operator's, of any merchant's event.
     */
    async redeliver(
      merchantId: string | undefined,
      id: string,
      redeliveryId = newId('dlv', Date.now(), Math.random),
    ) {
      const row = await find(merchantId, id);
      const { start } = await startWorkflow(temporal, merchantRedeliveryWorkflow, {
        workflowId: merchantRedeliveryWorkflowId(redeliveryId),
        taskQueue,
        input: { eventId: row.eventId, redeliveryId },
        reuse: 'ONCE',
        staticSummary: `redeliver ${row.type} ${row.eventId} of ${row.payOrderId}`,
      });
      log.info(
        { eventId: row.eventId, redeliveryId, start },
        'merchant event redelivery requested',
      );
      const queued = { id: redeliveryId, eventId: row.eventId, status: 'QUEUED' as const };
      return { queued, payOrderId: row.payOrderId, start };
    },

    /**
     * An operator's redelivery under the ID its form was rendered with, recorded in the audit
     * log once: a repeat starts nothing, and records the redelivery only if the first request
     * failed before it could. `recorded`: whether this call recorded it.
     */
    async redeliverAs(operator: string, id: string, redeliveryId: string) {
      const { queued, payOrderId, start } = await this.redeliver(undefined, id, redeliveryId);
      const [known] =
        start === 'NEWLY_STARTED'
          ? []
          : await db
              .select({ id: auditLog.id })
              .from(auditLog)
              .where(
                and(
                  eq(auditLog.action, 'merchant_event.redeliver'),
                  eq(auditLog.subjectId, queued.eventId),
                  sql`${auditLog.after}->>'redeliveryId' = ${redeliveryId}`,
                ),
              );
      if (!known) {
        await recordAudit(db, {
          operator,
          action: 'merchant_event.redeliver',
          subject: { type: 'merchant_event', id: queued.eventId },
          after: { redeliveryId },
        });
      }
      return { queued, payOrderId, recorded: !known };
    },
  };
}

export type MerchantEventService = ReturnType<typeof createMerchantEventService>;
