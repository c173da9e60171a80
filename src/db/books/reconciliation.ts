// Reconciliation's books: the channels' stored statements, our payments and refunds they are
// matched against, the differences found and their resolutions, and each run's record.
import {
  and,
  asc,
  eq,
  gt,
  gte,
  inArray,
  isNull,
  lt,
  lte,
  max,
  ne,
  sql,
  type AnyColumn,
} from 'drizzle-orm';
import { alias, type PgUpdateSetSource } from 'drizzle-orm/pg-core';
import type { Db } from '../client';
import {
  channelAttempts,
  channelStatementChunks,
  channelStatementLines,
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
  Difference,
  LineBooks,
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

/**
 * A statement of the channel's day begins to download: answers its ID. What an earlier download
 * of the day left unfinished (its worker died) goes first.
 */
export async function beginStatement(db: Db, channel: string, day: string): Promise<string> {
  await db
    .delete(channelStatements)
    .where(
      and(
        eq(channelStatements.channel, channel),
        eq(channelStatements.day, day),
        isNull(channelStatements.sha256),
      ),
    );
  const id = newId('stm', Date.now(), Math.random);
  await db.insert(channelStatements).values({ id, channel, day });
  return id;
}

/** Stores lines of a statement being downloaded; `first` is the line number of lines[0]. */
export async function storeStatementLines(
  db: Db,
  statementId: string,
  first: number,
  lines: readonly StatementEntry[],
): Promise<void> {
  if (lines.length === 0) return;
  // One parameter for the whole batch: a multi-row VALUES would need seven per line.
  const rows = JSON.stringify(
    lines.map((line, i) => ({
      n: first + i,
      kind: line.kind,
      out_trade_no: line.outTradeNo,
      channel_trade_no: line.channelTradeNo,
      amount: line.amount,
      currency: line.currency,
      refund_no: line.refundNo ?? null,
      at: line.at,
      reference: line.refundNo ?? line.outTradeNo,
    })),
  );
  await db.execute(sql`
    insert into ${channelStatementLines}
      (statement_id, n, kind, out_trade_no, channel_trade_no, amount, currency, refund_no, at, reference)
    select ${statementId}, n, kind, out_trade_no, channel_trade_no, amount, currency, refund_no, at, reference
    from jsonb_to_recordset(${rows}::jsonb) as x(n integer, kind text, out_trade_no text,
      channel_trade_no text, amount bigint, currency text, refund_no text, at text, reference text)`);
}

/** A download that failed: what it stored goes. */
export async function discardStatement(db: Db, statementId: string): Promise<void> {
  await db.delete(channelStatements).where(eq(channelStatements.id, statementId));
}

/** Stores the n-th piece of a statement's file as served. */
export async function storeStatementChunk(
  db: Db,
  statementId: string,
  n: number,
  raw: Buffer,
): Promise<void> {
  await db
    .insert(channelStatementChunks)
    .values({ statementId, n, rawBase64: raw.toString('base64') });
}

/**
 * The whole file is in: the statement is complete. One fetched before unchanged (same SHA-256)
 * is kept instead, and this copy goes. Answers the statement's ID.
 */
export async function completeStatement(
  db: Db,
  statementId: string,
  sha256: string,
): Promise<string> {
  const [statement] = await db
    .select({ channel: channelStatements.channel, day: channelStatements.day })
    .from(channelStatements)
    .where(eq(channelStatements.id, statementId));
  const { channel, day } = statement!;
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
  if (stored) {
    await db.delete(channelStatements).where(eq(channelStatements.id, statementId));
    return stored.id;
  }
  await db.update(channelStatements).set({ sha256 }).where(eq(channelStatements.id, statementId));
  return statementId;
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

/** The latest day of the channel's stored statements, if any. */
export async function latestStatementDay(db: Db, channel: string): Promise<string | undefined> {
  const [latest] = await db
    .select({ day: max(channelStatements.day) })
    .from(channelStatements)
    .where(eq(channelStatements.channel, channel));
  return latest?.day ?? undefined;
}

const lineColumns = {
  kind: channelStatementLines.kind,
  outTradeNo: channelStatementLines.outTradeNo,
  channelTradeNo: channelStatementLines.channelTradeNo,
  amount: channelStatementLines.amount,
  currency: channelStatementLines.currency,
  refundNo: channelStatementLines.refundNo,
  at: channelStatementLines.at,
};

/** A stored line as the adapter parsed it. */
function statementEntry(row: {
  kind: string;
  outTradeNo: string;
  channelTradeNo: string;
  amount: number;
  currency: string;
  refundNo: string | null;
  at: string;
}): StatementEntry {
  return {
    kind: row.kind as StatementEntry['kind'],
    outTradeNo: row.outTradeNo,
    channelTradeNo: row.channelTradeNo,
    amount: row.amount,
    currency: row.currency,
    ...(row.refundNo !== null ? { refundNo: row.refundNo } : {}),
    at: row.at,
  };
}

// What the payer paid: another amount than asked is booked as paid (and refunded).
const paidAmount = (attempts: typeof channelAttempts) =>
  sql<number>`coalesce(${attempts.paidAmount}, ${attempts.amount})`.mapWith(Number);

const paymentColumns = {
  payOrderId: channelAttempts.payOrderId,
  attemptId: channelAttempts.id,
  outTradeNo: channelAttempts.outTradeNo,
  amount: paidAmount(channelAttempts),
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

/** The channel order a refund was taken from, joined apart from the line's own channel order. */
const refundedAttempts = alias(channelAttempts, 'refunded_attempts');

/**
 * Lines of a stored statement after line `after`, at most `limit`, in order, each with what the
 * books hold about it: the channel order of ours it names and, for a refund line, our refund.
 */
export async function statementLinesWithBooks(
  db: Db,
  channel: string,
  statementId: string,
  after: number,
  limit: number,
): Promise<{ n: number; line: StatementEntry; books: LineBooks }[]> {
  const lines = channelStatementLines;
  const rows = await db
    .select({
      n: lines.n,
      ...lineColumns,
      payment: {
        payOrderId: channelAttempts.payOrderId,
        attemptId: channelAttempts.id,
        amount: paidAmount(channelAttempts),
        currency: channelAttempts.currency,
        status: channelAttempts.status,
      },
      refund: {
        payOrderId: refunds.payOrderId,
        refundId: refunds.id,
        outTradeNo: refundedAttempts.outTradeNo,
        amount: refunds.amount,
        currency: refunds.currency,
        status: refunds.status,
      },
    })
    .from(lines)
    .leftJoin(
      channelAttempts,
      and(eq(channelAttempts.channel, channel), eq(channelAttempts.outTradeNo, lines.outTradeNo)),
    )
    .leftJoin(refunds, and(eq(lines.kind, 'REFUND'), eq(refunds.id, lines.refundNo)))
    .leftJoin(
      refundedAttempts,
      and(eq(refundedAttempts.id, refunds.attemptId), eq(refundedAttempts.channel, channel)),
    )
    // Lines are numbered without gaps: the page is a range, so the joins see its lines alone
    // whatever the planner believes of a table just written (with only `n > after` and a limit,
    // it joined every line after the page each time: quadratic in the statement).
    .where(and(eq(lines.statementId, statementId), gt(lines.n, after), lte(lines.n, after + limit)))
    .orderBy(asc(lines.n));
  return rows.map((row) => {
    const line = statementEntry(row);
    const { payment, refund } = row;
    return {
      n: row.n,
      line,
      books: {
        ...(payment?.attemptId
          ? { payment: { ...payment, outTradeNo: line.outTradeNo } as BookPayment }
          : {}),
        // A refund of ours at another channel is no refund of this one's.
        ...(refund?.refundId && refund.outTradeNo ? { refund: refund as BookRefund } : {}),
      },
    };
  });
}

/**
 * What the books hold as paid or refunded within the day (our `period`) that the statement does
 * not name and no other day's stored statement books: the candidates for MISSING_AT_CHANNEL and
 * REFUND_MISSING_AT_CHANNEL. This is where "named by the statement" is decided, in SQL, so that
 * a statement of a million lines is never held in memory to decide it.
 */
export async function unnamedSuccesses(
  db: Db,
  channel: string,
  day: string,
  statementId: string,
  { from, to }: Period,
): Promise<{ payments: BookPayment[]; refunds: BookRefund[] }> {
  const lines = channelStatementLines;
  const namedHere = (reference: AnyColumn, kind: 'PAYMENT' | 'REFUND') =>
    sql`not exists (select 1 from ${lines} where ${lines.statementId} = ${statementId}
      and ${lines.reference} = ${reference} and ${lines.kind} = ${kind})`;
  // Each other day by the statement its latest run reconciled.
  const bookedOnOtherDay = (reference: AnyColumn) =>
    sql`not exists (select 1 from ${lines} join ${reconciliations}
      on ${reconciliations.statementId} = ${lines.statementId}
      where ${reconciliations.channel} = ${channel} and ${reconciliations.day} <> ${day}
      and ${lines.reference} = ${reference})`;
  const payments = await db
    .select(paymentColumns)
    .from(channelAttempts)
    .where(
      and(
        eq(channelAttempts.channel, channel),
        inArray(channelAttempts.status, [...paidStatuses]),
        gte(channelAttempts.paidAt, from),
        lt(channelAttempts.paidAt, to),
        namedHere(channelAttempts.outTradeNo, 'PAYMENT'),
        bookedOnOtherDay(channelAttempts.outTradeNo),
      ),
    );
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
        namedHere(refunds.id, 'REFUND'),
        bookedOnOtherDay(refunds.id),
      ),
    );
  return { payments: payments as BookPayment[], refunds: refunded as BookRefund[] };
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
  const lines = channelStatementLines;
  const rows = await sliced(references, (slice) =>
    db
      .select({
        reference: lines.reference,
        day: channelStatements.day,
        statementId: channelStatements.id,
        ...lineColumns,
      })
      .from(lines)
      .innerJoin(channelStatements, eq(channelStatements.id, lines.statementId))
      .innerJoin(reconciliations, eq(reconciliations.statementId, channelStatements.id))
      .where(and(eq(channelStatements.channel, channel), inArray(lines.reference, slice)))
      .orderBy(asc(channelStatements.day), asc(lines.n)),
  );
  return rows.map((row) => ({
    reference: row.reference,
    day: row.day,
    statementId: row.statementId,
    line: statementEntry(row),
  }));
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

/** Records a batch of a run's differences; one found again keeps its row and what was decided. */
export async function recordDifferences(
  db: Db,
  channel: string,
  day: string,
  differences: Difference[],
): Promise<RecordedDifference[]> {
  // One statement per batch, and a row may be named once in it: a repeated line's last finding
  // stands, as it would after one upsert per line.
  const byKey = new Map(differences.map((d) => [`${d.kind} ${d.reference}`, d]));
  if (byKey.size === 0) return [];
  return db
    .insert(reconciliationDifferences)
    .values(
      [...byKey.values()].map((d) => ({
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
      })),
    )
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
