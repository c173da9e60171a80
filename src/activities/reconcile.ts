// Reconciliation's side effects: fetching and storing a channel's statement, reading our books for
// it, recording the differences, handing missed payments to their workflows, and the report.
import { createHash } from 'node:crypto';
import { and, eq, gte, inArray, lt, max, ne, sql } from 'drizzle-orm';
import { ApplicationFailure } from '@temporalio/common';
import type { Logger } from 'pino';
import type { ChannelRegistry } from '../channels/registry';
import type { Db } from '../db/client';
import {
  channelAttempts,
  channelStatements,
  payOrders,
  differencesOfDay,
  reconciliationDifferences,
  reconciliations,
  refunds,
} from '../db/schema';
import type { RefundStatus } from '../workflows/contracts/merchantRefund';
import { newId } from '../domain/ids';
import { businessDayBounds, businessDayOf } from '../domain/businessDay';
import {
  classTotals,
  matchStatement,
  missedPaymentResolution,
  type BookPayment,
  type BookRefund,
  type Difference,
  type DifferenceKind,
  type Matched,
  type ReconciliationReport,
  type ReportItem,
  type Resolution,
  type StatementEntry,
} from '../domain/reconciliation';
import { paidStatuses } from '../domain/payOrder';
import {
  decideHold,
  heldUntil,
  holdHorizon,
  holdShifts,
  type HoldClock,
  type LaterBooking,
} from '../domain/reconciliationHolding';
import type { Corrections } from '../services/corrections';
import { strayPaymentWorkflowId } from '../workflows/contracts/strayPayment';

export interface ReconcileRef {
  channel: string;
  day: string;
}

/** A payment the channel booked that our books hold as not paid, to hand to its workflow. */
export interface MissedPayment {
  differenceId: string;
  channel: string;
  payOrderId: string;
  attemptId: string;
  outTradeNo: string;
  channelTradeNo: string;
  amount: number;
}

export interface Comparison {
  statementLines: number;
  matched: Matched;
  missedPayments: MissedPayment[];
  /** Pay orders with a difference only an operator can decide, and why. */
  forOperators: { payOrderId: string; reason: string }[];
  settledSinceLastRun: number;
  /** Held differences (of any day) this run cleared or released; absent before the holding pool. */
  holdsSettled?: string[];
}

type DifferenceRow = typeof reconciliationDifferences.$inferSelect;

/** Large statements are looked up in slices, so no query carries an unbounded parameter list. */
const lookupSlice = 1000;

export function createReconcileActivities(deps: {
  db: Db;
  channels: ChannelRegistry;
  corrections: Corrections;
  log: Logger;
  /** RECONCILE_HOLD_DAYS: how long a possible day-boundary shift waits for another statement. */
  holdDays: number;
}) {
  const { db } = deps;

  async function sliced<T>(keys: string[], lookup: (slice: string[]) => Promise<T[]>) {
    const found: T[] = [];
    for (let i = 0; i < keys.length; i += lookupSlice) {
      found.push(...(await lookup(keys.slice(i, i + lookupSlice))));
    }
    return found;
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

  async function readBooks(channel: string, day: string, lines: StatementEntry[]) {
    const { from, to } = businessDayBounds(day);
    const outTradeNos = [...new Set(lines.map((l) => l.outTradeNo))];
    const refundNos = lines.flatMap((l) => (l.kind === 'REFUND' && l.refundNo ? [l.refundNo] : []));
    const payments = await sliced(outTradeNos, (slice) =>
      db
        .select(paymentColumns)
        .from(channelAttempts)
        .where(
          and(eq(channelAttempts.channel, channel), inArray(channelAttempts.outTradeNo, slice)),
        ),
    );
    const namedRefunds = await sliced(refundNos, (slice) =>
      db
        .select(refundColumns)
        .from(refunds)
        .innerJoin(channelAttempts, eq(refunds.attemptId, channelAttempts.id))
        .where(and(eq(channelAttempts.channel, channel), inArray(refunds.id, slice))),
    );
    const paidThatDay = await db
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
    // A refund's last change is when it became final (nothing changes a final refund).
    const refundedThatDay = await db
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
    const named = new Set([
      ...lines.filter((l) => l.kind === 'PAYMENT').map((l) => l.outTradeNo),
      ...refundNos,
    ]);
    const unnamed = [
      ...paidThatDay.map((p) => p.outTradeNo),
      ...refundedThatDay.map((r) => r.refundId),
    ].filter((reference) => !named.has(reference));
    return {
      payments: new Map(payments.map((p) => [p.outTradeNo, p as BookPayment])),
      refunds: new Map(namedRefunds.map((r) => [r.refundId, r as BookRefund])),
      paidThatDay: paidThatDay as BookPayment[],
      refundedThatDay: refundedThatDay as BookRefund[],
      bookedOnOtherDays: new Set(
        (await bookingsOf(channel, unnamed)).filter((b) => b.day !== day).map((b) => b.reference),
      ),
    };
  }

  /**
   * Where the channel's statements book these references (out_trade_no of a payment line, refund
   * no of a refund line), each day by its latest stored statement: around midnight our clock and
   * the channel's put one payment on neighbouring days.
   */
  async function bookingsOf(channel: string, references: string[]) {
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

  /**
   * The channel's held differences, whatever their day: one another day's statement books is
   * cleared with that line as evidence, one whose hold is over goes to the operators, the rest
   * stay held. Answers the rows it changed (each changed once, also by runs at the same time).
   */
  async function settleHolds(channel: string, clock: HoldClock) {
    const held = await db
      .select()
      .from(reconciliationDifferences)
      .where(
        and(
          eq(reconciliationDifferences.channel, channel),
          eq(reconciliationDifferences.resolution, 'HELD'),
        ),
      );
    const bookings = await bookingsOf(channel, [...new Set(held.map((row) => row.reference))]);
    const settled: DifferenceRow[] = [];
    for (const row of held) {
      const booking = bookings.find((b) => b.reference === row.reference && b.day !== row.day);
      const decided = decideHold(row.day, booking, clock);
      if (decided.decision === 'HOLD') continue;
      const change =
        decided.decision === 'CLEAR'
          ? {
              resolution: 'CORRECTED',
              note: `booked on the channel's statement of ${decided.booking.day}`,
              evidence: {
                ...(row.evidence as object),
                bookedOnOtherDay: {
                  day: decided.booking.day,
                  statementId: decided.booking.statementId,
                  line: decided.booking.line,
                },
              },
              resolvedAt: sql`now()`,
            }
          : {
              resolution: 'OPS',
              note: `no statement up to ${heldUntil(row.day, clock.holdDays)} booked it`,
            };
      const [changed] = await db
        .update(reconciliationDifferences)
        .set({ ...change, updatedAt: sql`now()` })
        .where(
          and(
            eq(reconciliationDifferences.id, row.id),
            eq(reconciliationDifferences.resolution, 'HELD'),
          ),
        )
        .returning();
      if (changed) settled.push(changed);
    }
    return settled;
  }

  /** Records this run's differences; one found again keeps its row and what was decided about it. */
  async function recordDifferences(channel: string, day: string, differences: Difference[]) {
    const rows: DifferenceRow[] = [];
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

  /**
   * Differences an earlier run found that this one does not: settled since. A missed payment is
   * CORRECTED only once its money is accounted for (`missedPaymentResolution`); until then it
   * stays CORRECTING.
   */
  async function settleVanished(channel: string, day: string, present: DifferenceRow[]) {
    const stillThere = new Set(present.map((r) => r.id));
    const open = await db
      .select()
      .from(reconciliationDifferences)
      .where(
        and(
          differencesOfDay(channel, day),
          inArray(reconciliationDifferences.resolution, ['CORRECTING', 'HELD', 'OPS']),
        ),
      );
    let settled = 0;
    for (const row of open.filter((r) => !stillThere.has(r.id))) {
      const resolution = await resolutionOnceVanished(row);
      if (resolution === row.resolution) continue;
      settled += 1;
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
        .where(eq(reconciliationDifferences.id, row.id));
    }
    return settled;
  }

  async function resolutionOnceVanished(row: DifferenceRow): Promise<Resolution> {
    if (row.resolution === 'OPS') return 'RESOLVED';
    if (row.kind !== 'MISSED_PAYMENT' || !row.payOrderId || !row.attemptId) return 'CORRECTED';
    const [order] = await db
      .select({ paidAttemptId: payOrders.paidAttemptId })
      .from(payOrders)
      .where(eq(payOrders.id, row.payOrderId));
    const attemptRefunds = await db
      .select({ status: refunds.status })
      .from(refunds)
      .where(eq(refunds.attemptId, row.attemptId));
    return missedPaymentResolution({
      paidTheOrder: order?.paidAttemptId === row.attemptId,
      refunds: attemptRefunds.map((r) => r.status as RefundStatus),
    });
  }

  /** Pay orders of undecidable differences not yet on the operators' list, and why they go there. */
  async function unflagged(rows: DifferenceRow[]) {
    const ids = [...new Set(rows.map((row) => row.payOrderId!))];
    const flagged = new Set(
      (
        await sliced(ids, (slice) =>
          db
            .select({ id: payOrders.id })
            .from(payOrders)
            .where(and(inArray(payOrders.id, slice), eq(payOrders.needsAttention, true))),
        )
      ).map((order) => order.id),
    );
    return rows
      .filter((row) => !flagged.has(row.payOrderId!) && flagged.add(row.payOrderId!))
      .map((row) => ({
        payOrderId: row.payOrderId!,
        reason: `reconciliation ${row.channel} ${row.day}: ${row.kind} ${row.reference}`,
      }));
  }

  function reportItem(row: DifferenceRow, reportDay: string): ReportItem {
    return {
      id: row.id,
      ...(row.day !== reportDay ? { day: row.day } : {}),
      ...(row.resolution === 'HELD' ? { heldUntil: heldUntil(row.day, deps.holdDays) } : {}),
      kind: row.kind as DifferenceKind,
      reference: row.reference,
      ...(row.payOrderId ? { payOrderId: row.payOrderId } : {}),
      ...(row.channelAmount !== null ? { channelAmount: row.channelAmount } : {}),
      ...(row.bookAmount !== null ? { bookAmount: row.bookAmount } : {}),
      ...(row.currency ? { currency: row.currency } : {}),
      resolution: row.resolution as Resolution,
      urgent: row.urgent,
      action: row.action,
    };
  }

  return {
    /** Fetches the day's statement and stores it (an unchanged one is stored once); starts the run. */
    async fetchStatement({ channel, day }: ReconcileRef) {
      const adapter = deps.channels.get(channel);
      if (!adapter) {
        throw ApplicationFailure.nonRetryable(`no channel ${channel}`, 'UNSUPPORTED_CHANNEL');
      }
      const statement = await adapter.fetchStatement(day);
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
      await db
        .insert(reconciliations)
        .values({ channel, day, status: 'RUNNING', statementId: stored!.id })
        .onConflictDoUpdate({
          target: [reconciliations.channel, reconciliations.day],
          set: {
            status: 'RUNNING',
            statementId: stored!.id,
            runs: sql`${reconciliations.runs} + 1`,
            startedAt: sql`now()`,
            finishedAt: null,
          },
        });
      return { statementId: stored!.id, lines: statement.lines.length };
    },

    /** Matches the stored statement with the books and records every difference with its evidence. */
    async compareStatement({
      channel,
      day,
      statementId,
    }: ReconcileRef & { statementId: string }): Promise<Comparison> {
      const [statement] = await db
        .select({ lines: channelStatements.lines })
        .from(channelStatements)
        .where(eq(channelStatements.id, statementId));
      const lines = statement!.lines as StatementEntry[];
      const [latest] = await db
        .select({ day: max(channelStatements.day) })
        .from(channelStatements)
        .where(eq(channelStatements.channel, channel));
      const horizon = holdHorizon(latest?.day ?? day, businessDayOf(new Date()));
      const clock = { horizon, holdDays: deps.holdDays };
      // First the holds of every day: this day's statement may be the one that books them.
      const holdsSettled = await settleHolds(channel, clock);
      const { matched, differences } = matchStatement(lines, await readBooks(channel, day, lines));
      const rows = await recordDifferences(channel, day, holdShifts(day, differences, clock));
      const settledSinceLastRun = await settleVanished(channel, day, rows);
      const missedPayments = rows
        .filter((row) => row.kind === 'MISSED_PAYMENT' && row.resolution === 'CORRECTING')
        .map((row) => {
          const { line } = row.evidence as { line: StatementEntry };
          return {
            differenceId: row.id,
            channel,
            payOrderId: row.payOrderId!,
            attemptId: row.attemptId!,
            outTradeNo: row.reference,
            channelTradeNo: line.channelTradeNo,
            amount: line.amount,
          };
        });
      const forOperators = await unflagged(
        [...holdsSettled, ...rows].filter((row) => row.resolution === 'OPS' && row.payOrderId),
      );
      return {
        statementLines: lines.length,
        matched,
        missedPayments,
        forOperators,
        settledSinceLastRun,
        holdsSettled: holdsSettled.map((row) => row.id),
      };
    },

    /** Hands a payment the channel booked to its pay order's workflow; repeats are harmless. */
    async settleMissedPayment(missed: MissedPayment) {
      const handled = await deps.corrections.reportChannelFact({
        payOrderId: missed.payOrderId,
        attemptId: missed.attemptId,
        channel: missed.channel,
        outTradeNo: missed.outTradeNo,
        fact: {
          outTradeNo: missed.outTradeNo,
          status: 'SUCCEEDED',
          amount: missed.amount,
          channelTradeNo: missed.channelTradeNo,
          source: 'statement',
        },
        confirmedByStatement: true,
      });
      const action =
        handled === 'SIGNALLED'
          ? `handed to the payment workflow ${missed.payOrderId}, which settles the order or refunds a late or duplicate payment`
          : `the payment workflow had completed: handed to the stray-payment refund ${strayPaymentWorkflowId(missed.attemptId)}, which refunds it`;
      await db
        .update(reconciliationDifferences)
        .set({ action, updatedAt: sql`now()` })
        .where(eq(reconciliationDifferences.id, missed.differenceId));
      return handled;
    },

    /** Puts a pay order with an undecidable difference on the operators' list. */
    async flagForOperator({ payOrderId, reason }: { payOrderId: string; reason: string }) {
      await deps.corrections.flagPayOrder(payOrderId, reason);
    },

    /** Writes the run's report from its recorded differences and answers it. */
    async finishReconciliation({
      channel,
      day,
      statementId,
      comparison,
    }: ReconcileRef & { statementId: string; comparison: Comparison }) {
      const rows = await db
        .select()
        .from(reconciliationDifferences)
        .where(
          and(differencesOfDay(channel, day), ne(reconciliationDifferences.resolution, 'RESOLVED')),
        )
        .orderBy(reconciliationDifferences.kind, reconciliationDifferences.reference);
      const current = rows.filter((r) => r.resolution === 'CORRECTING' || r.resolution === 'OPS');
      const holdsSettled = await sliced(comparison.holdsSettled ?? [], (slice) =>
        db
          .select()
          .from(reconciliationDifferences)
          .where(inArray(reconciliationDifferences.id, slice))
          .orderBy(reconciliationDifferences.day, reconciliationDifferences.reference),
      );
      const [run] = await db
        .select({ runs: reconciliations.runs })
        .from(reconciliations)
        .where(and(eq(reconciliations.channel, channel), eq(reconciliations.day, day)));
      const report: ReconciliationReport = {
        channel,
        day,
        statementId,
        statementLines: comparison.statementLines,
        run: run?.runs ?? 1,
        matched: comparison.matched,
        classes: classTotals(
          current.map((r) => ({
            kind: r.kind as DifferenceKind,
            currency: r.currency ?? '',
            ...(r.channelAmount !== null ? { channelAmount: r.channelAmount } : {}),
            ...(r.bookAmount !== null ? { bookAmount: r.bookAmount } : {}),
          })),
        ),
        autoCorrected: rows
          .filter((r) => r.resolution === 'CORRECTING' || r.resolution === 'CORRECTED')
          .map((r) => reportItem(r, day)),
        forOperators: rows.filter((r) => r.resolution === 'OPS').map((r) => reportItem(r, day)),
        held: rows.filter((r) => r.resolution === 'HELD').map((r) => reportItem(r, day)),
        holdsSettled: holdsSettled.map((r) => reportItem(r, day)),
        settledSinceLastRun: comparison.settledSinceLastRun,
      };
      await db
        .update(reconciliations)
        .set({ status: 'COMPLETED', report, finishedAt: sql`now()` })
        .where(and(eq(reconciliations.channel, channel), eq(reconciliations.day, day)));
      return report;
    },

    /** A run that could not finish (statement unavailable): recorded, so operators see it. */
    async failReconciliation({ channel, day, reason }: ReconcileRef & { reason: string }) {
      await db
        .insert(reconciliations)
        .values({ channel, day, status: 'FAILED', report: { error: reason } })
        .onConflictDoUpdate({
          target: [reconciliations.channel, reconciliations.day],
          set: { status: 'FAILED', report: { error: reason }, finishedAt: sql`now()` },
        });
    },
  };
}

export type ReconcileActivities = ReturnType<typeof createReconcileActivities>;
