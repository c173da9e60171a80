// One pay order's whole story for an operator (the ops console's order page): the books' record of
// it (channel orders, notifications received, refunds, merchant events and their tries, safety-net
// findings, reconciliation differences, audit entries) and, from its workflow's history in
// Temporal, the queries and closes it made at the channel.
import type { Client } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import type { temporal } from '@temporalio/proto';
import { and, asc, desc, eq, inArray, or } from 'drizzle-orm';
import type { Db } from '../db/client';
import {
  auditLog,
  channelAttempts,
  channelNotifications,
  merchantNotifications,
  merchants,
  payOrders,
  reconciliationDifferences,
  refunds,
  safetyNetFindings,
} from '../db/schema';
import { DomainError } from '../domain/errors';
import { paymentWorkflowId } from '../workflows/contracts/payment';
import { triesOf } from './merchantEvents';

/** A call the workflow made at the channel, read from its history. */
export interface ChannelCall {
  at: string;
  /** queryChannelOrder, closeChannelOrder, ... */
  activity: string;
  /** The activity's summary (what it asked, of which channel order). */
  summary: string | null;
  outcome: 'COMPLETED' | 'FAILED' | 'TIMED_OUT' | 'PENDING';
  /** The channel's answer (a completed query's status), or why the call failed. */
  detail: string | null;
}

const channelActivities = new Set([
  'openChannelOrder',
  'openChannelOrderBetweenSaves',
  'queryChannelOrder',
  'closeChannelOrder',
]);

/** The channel calls of the workflow's current run, oldest first. */
async function channelCallsOf(temporal: Client, payOrderId: string): Promise<ChannelCall[]> {
  const history = await temporal.workflow.getHandle(paymentWorkflowId(payOrderId)).fetchHistory();
  const calls = new Map<string, ChannelCall>();
  for (const event of history.events ?? []) {
    const scheduled = event.activityTaskScheduledEventAttributes;
    if (scheduled) {
      const activity = scheduled.activityType?.name ?? '';
      if (!channelActivities.has(activity)) continue;
      const summary = event.userMetadata?.summary;
      calls.set(String(event.eventId), {
        at: timeOf(event),
        activity,
        summary: summary ? defaultPayloadConverter.fromPayload<string>(summary) : null,
        outcome: 'PENDING',
        detail: null,
      });
      continue;
    }
    const ended = endOf(event);
    const call = ended && calls.get(String(ended.scheduledEventId));
    if (!ended || !call) continue;
    call.outcome = ended.outcome;
    call.detail = ended.detail;
  }
  return [...calls.values()];
}

function timeOf(event: temporal.api.history.v1.IHistoryEvent): string {
  const seconds = Number(event.eventTime?.seconds ?? 0);
  const nanos = event.eventTime?.nanos ?? 0;
  return new Date(seconds * 1000 + Math.floor(nanos / 1e6)).toISOString();
}

function endOf(event: temporal.api.history.v1.IHistoryEvent) {
  const completed = event.activityTaskCompletedEventAttributes;
  if (completed) {
    const [payload] = completed.result?.payloads ?? [];
    const result = payload ? defaultPayloadConverter.fromPayload<unknown>(payload) : undefined;
    return {
      scheduledEventId: completed.scheduledEventId,
      outcome: 'COMPLETED' as const,
      detail: describeResult(result),
    };
  }
  const failed = event.activityTaskFailedEventAttributes;
  if (failed) {
    return {
      scheduledEventId: failed.scheduledEventId,
      outcome: 'FAILED' as const,
      detail: failed.failure?.message ?? null,
    };
  }
  const timedOut = event.activityTaskTimedOutEventAttributes;
  if (timedOut) {
    return {
      scheduledEventId: timedOut.scheduledEventId,
      outcome: 'TIMED_OUT' as const,
      detail: null,
    };
  }
  return undefined;
}

/** What a channel call answered, in a line: its status, trade number and amount when it has them. */
function describeResult(result: unknown): string | null {
  if (result === undefined || result === null) return null;
  if (typeof result !== 'object') return JSON.stringify(result);
  const fields = result as Record<string, unknown>;
  const parts = ['status', 'channelTradeNo', 'amount'].flatMap((name) => {
    const value = fields[name];
    if (typeof value !== 'string' && typeof value !== 'number') return [];
    return [name === 'amount' ? `amount ${value}` : String(value)];
  });
  return parts.length > 0 ? parts.join(' · ') : JSON.stringify(result).slice(0, 200);
}

/** The audit log's entries about these subjects of one type (none: no condition). */
function entriesAbout(subjectType: string, ids: string[]) {
  if (ids.length === 0) return undefined;
  return and(eq(auditLog.subjectType, subjectType), inArray(auditLog.subjectId, ids));
}

/** Everything the books hold about one pay order, read from one snapshot. */
async function orderStoryFromBooks(db: Db, payOrderId: string) {
  return db.transaction(
    async (tx) => {
      const [found] = await tx
        .select({ order: payOrders, merchantName: merchants.name })
        .from(payOrders)
        .innerJoin(merchants, eq(merchants.id, payOrders.merchantId))
        .where(eq(payOrders.id, payOrderId));
      if (!found) throw new DomainError('NOT_FOUND', `no pay order ${payOrderId}`);
      const attempts = await tx
        .select()
        .from(channelAttempts)
        .where(eq(channelAttempts.payOrderId, payOrderId))
        .orderBy(asc(channelAttempts.createdAt), asc(channelAttempts.id));
      const notifications = await tx
        .select({
          id: channelNotifications.id,
          channel: channelNotifications.channel,
          outTradeNo: channelNotifications.outTradeNo,
          status: channelNotifications.status,
          fact: channelNotifications.fact,
          deliveries: channelNotifications.deliveries,
          receivedAt: channelNotifications.receivedAt,
        })
        .from(channelNotifications)
        .where(eq(channelNotifications.payOrderId, payOrderId))
        .orderBy(asc(channelNotifications.receivedAt));
      const refundRows = await tx
        .select()
        .from(refunds)
        .where(eq(refunds.payOrderId, payOrderId))
        .orderBy(asc(refunds.createdAt));
      const events = await tx
        .select()
        .from(merchantNotifications)
        .where(eq(merchantNotifications.payOrderId, payOrderId))
        .orderBy(asc(merchantNotifications.createdAt));
      const tries = await triesOf(
        tx,
        events.map((e) => e.eventId),
      );
      const findings = await tx
        .select()
        .from(safetyNetFindings)
        .where(eq(safetyNetFindings.payOrderId, payOrderId))
        .orderBy(asc(safetyNetFindings.firstSeenAt));
      const differences = await tx
        .select()
        .from(reconciliationDifferences)
        .where(eq(reconciliationDifferences.payOrderId, payOrderId))
        .orderBy(asc(reconciliationDifferences.createdAt));
      // The order's own entries, and those of its events and differences.
      const subjects = [
        and(eq(auditLog.subjectType, 'pay_order'), eq(auditLog.subjectId, payOrderId)),
        entriesAbout(
          'merchant_event',
          events.map((e) => e.eventId),
        ),
        entriesAbout(
          'reconciliation_difference',
          differences.map((d) => d.id),
        ),
      ];
      const audit = await tx
        .select()
        .from(auditLog)
        .where(or(...subjects))
        .orderBy(desc(auditLog.id))
        .limit(200);
      return {
        order: found.order,
        merchantName: found.merchantName,
        attempts,
        notifications,
        refunds: refundRows,
        events: events.map((e) => ({ ...e, tries: tries.get(e.eventId) ?? [] })),
        findings,
        differences,
        audit,
      };
    },
    { isolationLevel: 'repeatable read', accessMode: 'read only' },
  );
}

/**
 * The books' story and the workflow's channel calls. Temporal not answering (or the workflow's
 * history gone past retention) leaves the calls out with the reason, never the page.
 */
export async function orderStory(deps: { db: Db; temporal: Client }, payOrderId: string) {
  const books = await orderStoryFromBooks(deps.db, payOrderId);
  let channelCalls: ChannelCall[] | { unavailable: string };
  try {
    channelCalls = await channelCallsOf(deps.temporal, payOrderId);
  } catch (err) {
    channelCalls = { unavailable: err instanceof Error ? err.message : String(err) };
  }
  return { ...books, channelCalls };
}

export type OrderStory = Awaited<ReturnType<typeof orderStory>>;
