// Reconciliation's books: the channels' stored statements, our payments and refunds they are
// matched against, the differences found and their resolutions, and each run's record.
import { createHash } from 'node:crypto';
import { and, eq, gte, inArray, lt, max, ne, sql } from 'drizzle-orm';
import type { PgUpdateSetSource } from 'drizzle-orm/pg-core';
import type { Db } from '../client';
import {
  channelAttempts,
  channelStatements,
  differencesOfDay,
  payOrders,
  reconciliationDifferences,
  reconciliations,
  refunds,
} from '../schema';
import { newId } from '../../domain/ids';
import { paidStatuses } from '../../domain/payOrder';
import type {
  BookPayment,
  BookRefund,
  Books,
  Difference,
  MissedPaymentAfterCorrection,
  ReconciliationReport,
  Resolution,
  StatementEntry,
} from '../../domain/reconciliation';
import type { LaterBooking } from '../../domain/reconciliationHolding';

/** A difference as recorded, with what was decided about it. */
export type RecordedDifference = typeof reconciliationDifferences.$inferSelect;

/** A day in our clock, as instants: from inclusive, to exclusive. */
export interface Period {
  from: Date;
  to: Date;
}

/** Large statements are looked up in slices, so no query carries an unbounded parameter list. */
const lookupSlice = 1000;

async function sliced<T>(keys: string[], lookup: (slice: string[]) => Promise<T[]>) {
  const found: T[] = [];
  for (let i = 0; i < keys.length; i += lookupSlice) {
    found.push(...(await lookup(keys.slice(i, i + lookupSlice))));
  }
  return found;
}

/** Stores a channel's statement of a day (an unchanged one once) and answers its ID. */
export async function storeStatement(
  db: Db,
  statement: { channel: string; day: string; raw: Buffer; lines: StatementEntry[] },
): Promise<string> {
  const { channel, day } = statement;
  const sha256 = createHash('sha256').update(statement.raw).digest('hex');
  await db
    .insert(channelStatements)
    .values({
      id: newId('stm', Date.now(), Math.random),
      channel,
      day,
      sha256,
      rawBase64: statement.raw.toString('base64'),
      lines: statement.lines,
    })
    .onConflictDoNothing();
  const [stored] = await db
    .select({ id: channelStatements.id })
    .from(channelStatements)
    .where(
      and(
        eq(channelStatements.channel, channel),
        eq(channelStatements.day, day),
        eq(channelStatements.sha256, sha256),
      ),
    );
  return stored!.id;
}

/** A run of the day starts (again) on this statement. */
export async function startReconciliation(
  db: Db,
  channel: string,
  day: string,
  statementId: string,
): Promise<void> {
  await db
    .insert(reconciliations)
    .values({ channel, day, status: 'RUNNING', statementId })
    .onConflictDoUpdate({
      target: [reconciliations.channel, reconciliations.day],
      set: {
        status: 'RUNNING',
        statementId,
        runs: sql`${reconciliations.runs} + 1`,
        startedAt: sql`now()`,
        finishedAt: null,
      },
    });
}

export async function statementLines(db: Db, statementId: string): Promise<StatementEntry[]> {
  const [statement] = await db
    .select({ lines: channelStatements.lines })
    .from(channelStatements)
    .where(eq(channelStatements.id, statementId));
  return statement!.lines as StatementEntry[];
}

/** The latest day of the channel's stored statements, if any. */
export async function latestStatementDay(db: Db, channel: string): Promise<string | undefined> {
  const [latest] = await db
    .select({ day: max(channelStatements.day) })
    .from(channelStatements)
    .where(eq(channelStatements.channel, channel));
  return latest?.day ?? undefined;
}

const paymentColumns = {
  payOrderId: channelAttempts.payOrderId,
  attemptId: channelAttempts.id,
  outTradeNo: channelAttempts.outTradeNo,
  // What the payer paid: another amount than asked is booked as paid (and refunded).
  amount: sql<number>`coalesce(${channelAttempts.paidAmount}, ${channelAttempts.amount})`.mapWith(
    Number,
  ),
  currency: channelAttempts.currency,
  status: channelAttempts.status,
};
const refundColumns = {
  payOrderId: refunds.payOrderId,
  refundId: refunds.id,
  outTradeNo: channelAttempts.outTradeNo,
  amount: refunds.amount,
  currency: refunds.currency,
  status: refunds.status,
};

/** The channel's orders of ours with these out_trade_nos. */
async function paymentsNamed(db: Db, channel: string, outTradeNos: string[]) {
  const payments = await sliced(outTradeNos, (slice) =>
    db
      .select(paymentColumns)
      .from(channelAttempts)
      .where(and(eq(channelAttempts.channel, channel), inArray(channelAttempts.outTradeNo, slice))),
  );
  return payments as BookPayment[];
}

/** Our refunds at the channel with these refund nos. */
async function refundsNamed(db: Db, channel: string, refundNos: string[]) {
  const named = await sliced(refundNos, (slice) =>
    db
      .select(refundColumns)
      .from(refunds)
      .innerJoin(channelAttempts, eq(refunds.attemptId, channelAttempts.id))
      .where(and(eq(channelAttempts.channel, channel), inArray(refunds.id, slice))),
  );
  return named as BookRefund[];
}

/** The channel's orders of ours paid within the period. */
async function paidWithin(db: Db, channel: string, { from, to }: Period) {
  const paid = await db
    .select(paymentColumns)
    .from(channelAttempts)
    .where(
      and(
        eq(channelAttempts.channel, channel),
        inArray(channelAttempts.status, [...paidStatuses]),
        gte(channelAttempts.paidAt, from),
        lt(channelAttempts.paidAt, to),
      ),
    );
  return paid as BookPayment[];
}

/** Our refunds at the channel that succeeded within the period. */
async function refundedWithin(db: Db, channel: string, { from, to }: Period) {
  // A refund's last change is when it became final (nothing changes a final refund).
  const refunded = await db
    .select(refundColumns)
    .from(refunds)
    .innerJoin(channelAttempts, eq(refunds.attemptId, channelAttempts.id))
    .where(
      and(
        eq(channelAttempts.channel, channel),
        eq(refunds.status, 'SUCCEEDED'),
        gte(refunds.updatedAt, from),
        lt(refunds.updatedAt, to),
      ),
    );
  return refunded as BookRefund[];
}

/**
 * The books a statement of `day` (our `period`) is matched against: what its lines name, what we
 * recorded as paid or refunded that day, and which of the latter other days' statements book.
 */
export async function booksForStatement(
  db: Db,
  channel: string,
  day: string,
  period: Period,
  lines: StatementEntry[],
): Promise<Books> {
  const outTradeNos = [...new Set(lines.map((l) => l.outTradeNo))];
  const refundNos = lines.flatMap((l) => (l.kind === 'REFUND' && l.refundNo ? [l.refundNo] : []));
  const payments = await paymentsNamed(db, channel, outTradeNos);
  const namedRefunds = await refundsNamed(db, channel, refundNos);
  const paidThatDay = await paidWithin(db, channel, period);
  const refundedThatDay = await refundedWithin(db, channel, period);
  const named = new Set([
    ...lines.filter((l) => l.kind === 'PAYMENT').map((l) => l.outTradeNo),
    ...refundNos,
  ]);
  const unnamed = [
    ...paidThatDay.map((p) => p.outTradeNo),
    ...refundedThatDay.map((r) => r.refundId),
  ].filter((reference) => !named.has(reference));
  return {
    payments: new Map(payments.map((p) => [p.outTradeNo, p])),
    refunds: new Map(namedRefunds.map((r) => [r.refundId, r])),
    paidThatDay,
    refundedThatDay,
    bookedOnOtherDays: new Set(
      (await bookingsOf(db, channel, unnamed)).filter((b) => b.day !== day).map((b) => b.reference),
    ),
  };
}

/**
 * Where the channel's statements book these references (out_trade_no of a payment line, refund
 * no of a refund line), each day by its latest stored statement: around midnight our clock and
 * the channel's put one payment on neighbouring days.
 */
export async function bookingsOf(
  db: Db,
  channel: string,
  references: string[],
): Promise<(LaterBooking & { reference: string })[]> {
  const reference = sql<string>`coalesce(line->>'refundNo', line->>'outTradeNo')`;
  return sliced(references, (slice) =>
    db
      .select({
        reference,
        // Named in sql: drizzle neither checks nor qualifies columns of a raw FROM.
        day: sql<string>`${channelStatements}.day`,
        statementId: sql<string>`${channelStatements}.id`,
        line: sql`line`.mapWith(channelStatements.lines),
      })
      .from(
        sql`${channelStatements} join ${reconciliations} on ${reconciliations.statementId} = ${channelStatements.id}
          cross join lateral jsonb_array_elements(${channelStatements.lines}) as line`,
      )
      .where(and(eq(channelStatements.channel, channel), inArray(reference, slice)))
      .orderBy(sql`${channelStatements.day}`),
  ) as Promise<(LaterBooking & { reference: string })[]>;
}

/** The channel's held differences, whatever their day. */
export async function heldDifferences(db: Db, channel: string): Promise<RecordedDifference[]> {
  return db
    .select()
    .from(reconciliationDifferences)
    .where(
      and(
        eq(reconciliationDifferences.channel, channel),
        eq(reconciliationDifferences.resolution, 'HELD'),
      ),
    );
}

/** Changes a difference that is still held; answers it, or nothing when another run got there first. */
async function settleHeld(
  db: Db,
  id: string,
  change: PgUpdateSetSource<typeof reconciliationDifferences>,
): Promise<RecordedDifference | undefined> {
  const [changed] = await db
    .update(reconciliationDifferences)
    .set({ ...change, updatedAt: sql`now()` })
    .where(
      and(eq(reconciliationDifferences.id, id), eq(reconciliationDifferences.resolution, 'HELD')),
    )
    .returning();
  return changed;
}

/** A held difference another day's statement books: corrected, with that line as evidence. */
export async function clearHeld(db: Db, held: RecordedDifference, booking: LaterBooking) {
  return settleHeld(db, held.id, {
    resolution: 'CORRECTED',
    note: `booked on the channel's statement of ${booking.day}`,
    evidence: {
      ...(held.evidence as object),
      bookedOnOtherDay: { day: booking.day, statementId: booking.statementId, line: booking.line },
    },
    resolvedAt: sql`now()`,
  });
}

/** A held difference no statement booked by the end of its hold: for the operators. */
export async function releaseHeld(db: Db, held: RecordedDifference, heldUntil: string) {
  return settleHeld(db, held.id, {
    resolution: 'OPS',
    note: `no statement up to ${heldUntil} booked it`,
  });
}

/** Records a run's differences; one found again keeps its row and what was decided about it. */
export async function recordDifferences(
  db: Db,
  channel: string,
  day: string,
  differences: Difference[],
): Promise<RecordedDifference[]> {
  const rows: RecordedDifference[] = [];
  for (const d of differences) {
    const [row] = await db
      .insert(reconciliationDifferences)
      .values({
        id: newId('dif', Date.now(), Math.random),
        channel,
        day,
        kind: d.kind,
        reference: d.reference,
        payOrderId: d.payOrderId ?? null,
        attemptId: d.attemptId ?? null,
        refundId: d.refundId ?? null,
        currency: d.currency,
        channelAmount: d.channelAmount ?? null,
        bookAmount: d.bookAmount ?? null,
        evidence: { line: d.line ?? null, book: d.book ?? null },
        resolution: d.resolution,
        action: d.action,
        urgent: d.urgent,
      })
      .onConflictDoUpdate({
        target: [
          reconciliationDifferences.channel,
          reconciliationDifferences.day,
          reconciliationDifferences.kind,
          reconciliationDifferences.reference,
        ],
        set: {
          evidence: sql`excluded.evidence`,
          channelAmount: sql`excluded.channel_amount`,
          bookAmount: sql`excluded.book_amount`,
          // An operator's decision stands; a difference that was settled and came back is new.
          resolution: sql`case when ${reconciliationDifferences.resolution} = 'RESOLVED'
            then ${reconciliationDifferences.resolution} else excluded.resolution end`,
          resolvedAt: sql`case when ${reconciliationDifferences.resolution} = 'RESOLVED'
            then ${reconciliationDifferences.resolvedAt} else null end`,
          updatedAt: sql`now()`,
        },
      })
      .returning();
    rows.push(row!);
  }
  return rows;
}

/** The day's differences not settled yet: corrections under way, held, or for the operators. */
export async function unsettledDifferencesOfDay(
  db: Db,
  channel: string,
  day: string,
): Promise<RecordedDifference[]> {
  return db
    .select()
    .from(reconciliationDifferences)
    .where(
      and(
        differencesOfDay(channel, day),
        inArray(reconciliationDifferences.resolution, ['CORRECTING', 'HELD', 'OPS']),
      ),
    );
}

/** A difference a later run no longer finds, with the resolution that follows. */
export async function markVanished(db: Db, id: string, resolution: Resolution): Promise<void> {
  await db
    .update(reconciliationDifferences)
    .set({
      resolution,
      ...(resolution === 'RESOLVED' ? { note: 'no longer found by a later run' } : {}),
      ...(resolution === 'OPS'
        ? { action: 'the channel refused the refund of this payment: decide with the merchant' }
        : {}),
      resolvedAt: resolution === 'OPS' ? null : sql`now()`,
      updatedAt: sql`now()`,
    })
    .where(eq(reconciliationDifferences.id, id));
}

/** Whether a channel order paid its pay order, and the statuses of its refunds. */
export async function missedPaymentAfterCorrection(
  db: Db,
  { payOrderId, attemptId }: { payOrderId: string; attemptId: string },
): Promise<MissedPaymentAfterCorrection> {
  const [order] = await db
    .select({ paidAttemptId: payOrders.paidAttemptId })
    .from(payOrders)
    .where(eq(payOrders.id, payOrderId));
  const attemptRefunds = await db
    .select({ status: refunds.status })
    .from(refunds)
    .where(eq(refunds.attemptId, attemptId));
  return {
    paidTheOrder: order?.paidAttemptId === attemptId,
    refunds: attemptRefunds.map((r) => r.status as MissedPaymentAfterCorrection['refunds'][number]),
  };
}

/** Which of these pay orders are on the operators' list already. */
export async function payOrdersNeedingAttention(db: Db, ids: string[]): Promise<Set<string>> {
  const flagged = await sliced(ids, (slice) =>
    db
      .select({ id: payOrders.id })
      .from(payOrders)
      .where(and(inArray(payOrders.id, slice), eq(payOrders.needsAttention, true))),
  );
  return new Set(flagged.map((order) => order.id));
}

/** What was done about a difference, for its record; answers false when it was noted already. */
export async function noteDifferenceAction(db: Db, id: string, action: string): Promise<boolean> {
  const changed = await db
    .update(reconciliationDifferences)
    .set({ action, updatedAt: sql`now()` })
    .where(
      and(
        eq(reconciliationDifferences.id, id),
        sql`${reconciliationDifferences.action} is distinct from ${action}`,
      ),
    )
    .returning({ id: reconciliationDifferences.id });
  return changed.length > 0;
}

/** The day's differences an operator has not resolved, by kind and reference. */
export async function unresolvedDifferencesOfDay(
  db: Db,
  channel: string,
  day: string,
): Promise<RecordedDifference[]> {
  return db
    .select()
    .from(reconciliationDifferences)
    .where(
      and(differencesOfDay(channel, day), ne(reconciliationDifferences.resolution, 'RESOLVED')),
    )
    .orderBy(reconciliationDifferences.kind, reconciliationDifferences.reference);
}

/** These differences, by day and reference. */
export async function differencesWithIds(db: Db, ids: string[]): Promise<RecordedDifference[]> {
  return sliced(ids, (slice) =>
    db
      .select()
      .from(reconciliationDifferences)
      .where(inArray(reconciliationDifferences.id, slice))
      .orderBy(reconciliationDifferences.day, reconciliationDifferences.reference),
  );
}

/** How many times the day has been reconciled (this run included). */
export async function runsOfDay(db: Db, channel: string, day: string): Promise<number | undefined> {
  const [run] = await db
    .select({ runs: reconciliations.runs })
    .from(reconciliations)
    .where(and(eq(reconciliations.channel, channel), eq(reconciliations.day, day)));
  return run?.runs;
}

export async function completeReconciliation(db: Db, report: ReconciliationReport): Promise<void> {
  await db
    .update(reconciliations)
    .set({ status: 'COMPLETED', report, finishedAt: sql`now()` })
    .where(and(eq(reconciliations.channel, report.channel), eq(reconciliations.day, report.day)));
}

/** A run that could not finish, and why. */
export async function failReconciliation(
  db: Db,
  channel: string,
  day: string,
  reason: string,
): Promise<void> {
  await db
    .insert(reconciliations)
    .values({ channel, day, status: 'FAILED', report: { error: reason } })
    .onConflictDoUpdate({
      target: [reconciliations.channel, reconciliations.day],
      set: { status: 'FAILED', report: { error: reason }, finishedAt: sql`now()` },
    });
}
