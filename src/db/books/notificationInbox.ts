// The books of the channel notification inbox: a notification stored in one statement on the
// webhook's answer path, the hand-overs marked many at a time, and what is left to hand over.
import { and, asc, eq, gt, inArray, isNotNull, lt, or, sql, type SQL } from 'drizzle-orm';
import type { AnyPgColumn, PgInsertValue } from 'drizzle-orm/pg-core';
import type { Db } from '../client';
import { channelAttempts, channelNotifications } from '../schema';
import { paidStatuses, statusesUnchangedBy, type ChannelFact } from '../../domain/payOrder';

/**
 * RECEIVED: stored and acknowledged, to hand to its workflow; then DELIVERED (signalled) or
 * AFTER_COMPLETION (its workflow had ended). Acknowledged from the books, never signalled:
 * ALREADY_PAID (its channel order is paid) and NOTHING_NEW (the workflow would ignore it in any
 * status the books allow, `factChangesNothing`). UNMATCHED: no channel order of ours has it.
 */
export type InboxStatus =
  'RECEIVED' | 'DELIVERED' | 'AFTER_COMPLETION' | 'ALREADY_PAID' | 'NOTHING_NEW' | 'UNMATCHED';

/** A stored notification of one of our channel orders, as its workflow is handed it. */
export interface InboxEntry {
  /** The inbox row's ID. */
  id: string;
  channel: string;
  payOrderId: string;
  attemptId: string;
  fact: ChannelFact;
}

export interface IncomingRow {
  id: string;
  channel: string;
  dedupeKey: string;
  headers: Record<string, unknown>;
  rawBody: string;
  fact: ChannelFact;
}

/** A notification as stored, with its channel order's IDs when the channel order is ours. */
export interface StoredNotification {
  id: string;
  status: InboxStatus;
  payOrderId?: string;
  attemptId?: string;
}

/**
 * Stores verified notifications with what the books say of their channel orders, in one
 * statement: each channel order is looked up inside the insert. A repeat finds its row (one that
 * was unmatched and is ours now takes the status it gets now); repeats within `rows` share one
 * row. Answers each row as stored, in the order of `rows`.
 */
export async function storeNotifications(
  db: Db,
  rows: IncomingRow[],
): Promise<StoredNotification[]> {
  const keyOf = (channel: string, dedupeKey: string) => `${channel}\u0000${dedupeKey}`;
  // One row per key, in key order: two statements that share keys (a channel's repeats reaching
  // two API processes) then take their row locks in the same order instead of deadlocking.
  const distinct = [
    ...new Map(rows.map((row) => [keyOf(row.channel, row.dedupeKey), row])).entries(),
  ]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([, row]) => row);
  const stored = await db
    .insert(channelNotifications)
    .values(distinct.map(toInsert))
    .onConflictDoUpdate({
      target: [channelNotifications.channel, channelNotifications.dedupeKey],
      set: {
        status: sql`case when ${channelNotifications.status} = 'UNMATCHED'
          then excluded.status else ${channelNotifications.status} end`,
        payOrderId: sql`coalesce(${channelNotifications.payOrderId}, excluded.pay_order_id)`,
        fact: sql`coalesce(${channelNotifications.fact}, excluded.fact)`,
      },
    })
    .returning({
      id: channelNotifications.id,
      channel: channelNotifications.channel,
      dedupeKey: channelNotifications.dedupeKey,
      status: channelNotifications.status,
      payOrderId: channelNotifications.payOrderId,
      // Spelled out: inside RETURNING, drizzle leaves columns unqualified, and both tables have
      // `channel` and `out_trade_no`.
      attemptId: sql<string | null>`(select a.id from channel_attempts a
        where a.channel = channel_notifications.channel
          and a.out_trade_no = channel_notifications.out_trade_no)`,
    });
  const byKey = new Map(stored.map((s) => [keyOf(s.channel, s.dedupeKey), s]));
  return rows.map((row) => {
    const s = byKey.get(keyOf(row.channel, row.dedupeKey))!;
    return {
      id: s.id,
      status: s.status as InboxStatus,
      ...(s.payOrderId ? { payOrderId: s.payOrderId } : {}),
      ...(s.attemptId ? { attemptId: s.attemptId } : {}),
    };
  });
}

/** One notification's values, its channel order's IDs and status looked up by the insert. */
function toInsert(row: IncomingRow): PgInsertValue<typeof channelNotifications> {
  const { fact } = row;
  const ofAttempt = (expression: SQL | AnyPgColumn) =>
    sql`(select ${expression} from ${channelAttempts}
      where ${channelAttempts.channel} = ${row.channel}
        and ${channelAttempts.outTradeNo} = ${fact.outTradeNo})`;
  const verdicts = statusesUnchangedBy(fact).map(
    (status) =>
      sql`when ${status} then ${paidStatuses.includes(status) ? 'ALREADY_PAID' : 'NOTHING_NEW'}`,
  );
  const fromBooks =
    verdicts.length === 0
      ? sql`'RECEIVED'`
      : sql`case ${channelAttempts.status} ${sql.join(verdicts, sql` `)} else 'RECEIVED' end`;
  return {
    id: row.id,
    channel: row.channel,
    dedupeKey: row.dedupeKey,
    outTradeNo: fact.outTradeNo,
    payOrderId: ofAttempt(channelAttempts.payOrderId),
    headers: row.headers,
    rawBody: row.rawBody,
    fact,
    status: sql`coalesce(${ofAttempt(fromBooks)}, 'UNMATCHED')`,
  };
}

/** Marks handed-over notifications, many in one statement. */
export async function markHandedOver(
  db: Db,
  ids: string[],
  status: 'DELIVERED' | 'AFTER_COMPLETION',
): Promise<void> {
  if (ids.length === 0) return;
  await db
    .update(channelNotifications)
    .set({
      status,
      deliveries: sql`${channelNotifications.deliveries} + 1`,
      processedAt: sql`now()`,
    })
    .where(inArray(channelNotifications.id, ids));
}

/** Where a walk through the notifications left to hand over has got to. */
export interface InboxCursor {
  receivedAt: Date;
  id: string;
}

/**
 * One page of the notifications stored but not handed over, received before `before`, oldest
 * first, after `cursor` (so a walk that fails on some never meets them again in the same walk).
 */
export async function notHandedOver(
  db: Db,
  options: { before: Date; after?: InboxCursor; limit: number },
): Promise<(InboxEntry & InboxCursor)[]> {
  const { after } = options;
  const rows = await db
    .select({
      id: channelNotifications.id,
      channel: channelNotifications.channel,
      fact: channelNotifications.fact,
      receivedAt: channelNotifications.receivedAt,
      payOrderId: channelAttempts.payOrderId,
      attemptId: channelAttempts.id,
    })
    .from(channelNotifications)
    .innerJoin(
      channelAttempts,
      and(
        eq(channelAttempts.channel, channelNotifications.channel),
        eq(channelAttempts.outTradeNo, channelNotifications.outTradeNo),
      ),
    )
    .where(
      and(
        eq(channelNotifications.status, 'RECEIVED'),
        isNotNull(channelNotifications.fact),
        lt(channelNotifications.receivedAt, options.before),
        after
          ? or(
              gt(channelNotifications.receivedAt, after.receivedAt),
              and(
                eq(channelNotifications.receivedAt, after.receivedAt),
                gt(channelNotifications.id, after.id),
              ),
            )
          : undefined,
      ),
    )
    .orderBy(asc(channelNotifications.receivedAt), asc(channelNotifications.id))
    .limit(options.limit);
  return rows.map((r) => ({ ...r, fact: r.fact as ChannelFact }));
}
