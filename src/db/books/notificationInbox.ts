// The books of the channel notification inbox: a notification stored in one statement on the
// webhook's answer path, the hand-overs marked many at a time, and what is left to hand over,
// taken by one sweep at a time.
import { and, eq, inArray, sql } from 'drizzle-orm';
import type { Db } from '../client';
import { channelNotifications } from '../schema';
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
 * statement of fixed text (the rows travel as one JSON parameter, so the server plans it once per
 * connection and nothing is built per row): each channel order is joined inside the insert. A
 * repeat finds its row (one that was unmatched and is ours now takes the status it gets now);
 * repeats within `rows` share one row. Answers each row as stored, in the order of `rows`.
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
    .map(([, row], n) => toInsert(row, n));
  const result = await db.execute(sql`
    insert into channel_notifications as n
      (id, channel, dedupe_key, out_trade_no, pay_order_id, headers, raw_body, fact, status)
    select r.id, r.channel, r.dedupe_key, r.out_trade_no, a.pay_order_id, r.headers, r.raw_body,
      r.fact,
      case when a.id is null then 'UNMATCHED'
        when a.status = any (r.already_paid) then 'ALREADY_PAID'
        when a.status = any (r.nothing_new) then 'NOTHING_NEW'
        else 'RECEIVED' end
    from jsonb_to_recordset(${JSON.stringify(distinct)}::jsonb)
      as r(n integer, id text, channel text, dedupe_key text, out_trade_no text, headers jsonb,
        raw_body text, fact jsonb, already_paid text[], nothing_new text[])
    left join channel_attempts a
      on a.channel = r.channel and a.out_trade_no = r.out_trade_no
    order by r.n
    on conflict (channel, dedupe_key) do update set
      status = case when n.status = 'UNMATCHED' then excluded.status else n.status end,
      pay_order_id = coalesce(n.pay_order_id, excluded.pay_order_id),
      fact = coalesce(n.fact, excluded.fact)
    returning n.id, n.channel, n.dedupe_key, n.status, n.pay_order_id,
      (select a.id from channel_attempts a
        where a.channel = n.channel and a.out_trade_no = n.out_trade_no) as attempt_id`);
  const stored = rowsOf<{
    id: string;
    channel: string;
    dedupe_key: string;
    status: InboxStatus;
    pay_order_id: string | null;
    attempt_id: string | null;
  }>(result);
  const byKey = new Map(stored.map((s) => [keyOf(s.channel, s.dedupe_key), s]));
  return rows.map((row) => {
    const s = byKey.get(keyOf(row.channel, row.dedupeKey))!;
    return {
      id: s.id,
      status: s.status,
      ...(s.pay_order_id ? { payOrderId: s.pay_order_id } : {}),
      ...(s.attempt_id ? { attemptId: s.attempt_id } : {}),
    };
  });
}

/**
 * The `n`-th notification as the insert reads it: with the statuses of its channel order in which
 * it changes nothing, split into those where the order is paid already and the rest.
 */
function toInsert(row: IncomingRow, n: number) {
  const unchangedBy = statusesUnchangedBy(row.fact);
  return {
    n,
    id: row.id,
    channel: row.channel,
    dedupe_key: row.dedupeKey,
    out_trade_no: row.fact.outTradeNo,
    headers: row.headers,
    raw_body: row.rawBody,
    fact: row.fact,
    already_paid: unchangedBy.filter((status) => paidStatuses.includes(status)),
    nothing_new: unchangedBy.filter((status) => !paidStatuses.includes(status)),
  };
}

/** The rows of a raw statement, whichever driver ran it (postgres.js answers an array). */
function rowsOf<T>(result: unknown): T[] {
  return (Array.isArray(result) ? result : (result as { rows: T[] }).rows) as T[];
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

/**
 * Where a sweep's walk through the notifications left to hand over has got to: the last one taken,
 * its time as the database writes it (exact to the microsecond, so the walk neither skips nor
 * meets again a notification received in the same millisecond).
 */
export interface InboxCursor {
  receivedAt: string;
  id: string;
}

/** What one page of a sweep took, and the hold it put on them. */
export interface SweepPage {
  /** Oldest first. */
  entries: InboxEntry[];
  /** The last one's place, for the next page (none when the page is empty). */
  cursor?: InboxCursor;
  /** The hold's end as the database wrote it, the same for the whole page. */
  heldUntil?: string;
}

/**
 * Takes for one sweep up to `limit` notifications stored but not handed over, received before
 * `before` and not held by another sweep, oldest first and after `after` (the walk's cursor): each
 * is held for `holdMs` by the database's clock, so the sweeps of other API processes pass it by
 * while this one hands it over. Two sweeps at once never take the same one (rows one of them is
 * taking are skipped, not waited for). Those the sweep does not hand over it lets go of
 * (`releaseSweepHolds`); the hold lapses by itself when the sweep's process stopped before that.
 */
export async function takeForSweep(
  db: Db,
  options: { before: Date; after?: InboxCursor; limit: number; holdMs: number },
): Promise<SweepPage> {
  const { after } = options;
  const result = await db.execute(sql`
    with due as (
      select n.id from channel_notifications n
      join channel_attempts a on a.channel = n.channel and a.out_trade_no = n.out_trade_no
      where n.status = 'RECEIVED' and n.fact is not null
        and n.received_at < ${options.before.toISOString()}::timestamptz
        and (n.swept_until is null or n.swept_until < now())
        ${after ? sql`and (n.received_at, n.id) > (${after.receivedAt}::timestamptz, ${after.id})` : sql``}
      order by n.received_at, n.id
      limit ${options.limit}::integer
      for update of n skip locked
    ), taken as (
      update channel_notifications n
      set swept_until = now() + ${options.holdMs}::float8 * interval '1 millisecond'
      from due, channel_attempts a
      where n.id = due.id and a.channel = n.channel and a.out_trade_no = n.out_trade_no
      returning n.id, n.channel, n.fact, n.received_at, n.swept_until, a.pay_order_id,
        a.id as attempt_id
    )
    select id, channel, fact, received_at::text as cursor_at, swept_until::text as held_until,
      pay_order_id, attempt_id
    from taken
    order by taken.received_at, taken.id`);
  const rows = rowsOf<{
    id: string;
    channel: string;
    fact: ChannelFact;
    cursor_at: string;
    held_until: string;
    pay_order_id: string;
    attempt_id: string;
  }>(result);
  const last = rows.at(-1);
  return {
    entries: rows.map((row) => ({
      id: row.id,
      channel: row.channel,
      payOrderId: row.pay_order_id,
      attemptId: row.attempt_id,
      fact: row.fact,
    })),
    ...(last
      ? { cursor: { receivedAt: last.cursor_at, id: last.id }, heldUntil: last.held_until }
      : {}),
  };
}

/**
 * Lets go of a sweep page's hold on those of `ids` still not handed over, so any sweep may take
 * them; a hold another sweep has put on one since (this page's lapsed) is left alone.
 */
export async function releaseSweepHolds(
  db: Db,
  page: { ids: string[]; heldUntil?: string },
): Promise<void> {
  if (page.ids.length === 0 || page.heldUntil === undefined) return;
  await db
    .update(channelNotifications)
    .set({ sweptUntil: null })
    .where(
      and(
        inArray(channelNotifications.id, page.ids),
        eq(channelNotifications.status, 'RECEIVED'),
        sql`${channelNotifications.sweptUntil} = ${page.heldUntil}::timestamptz`,
      ),
    );
}
