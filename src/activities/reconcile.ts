// Reconciliation's side effects: fetching and storing a channel's statement, matching it with our
// books, recording the differences, handing missed payments to their workflows, and the report.
// The books are read and written by src/db/books/reconciliation.ts; the rules are src/domain's.
import { createHash } from 'node:crypto';
import { ApplicationFailure, Context } from '@temporalio/activity';
import type { Logger } from 'pino';
import type { ChannelRegistry } from '../channels/registry';
import { businessDayBounds, businessDayOf } from '../domain/businessDay';
import type { Db } from '../db/client';
import * as books from '../db/books/reconciliation';
import type { RecordedDifference } from '../db/books/reconciliation';
import {
  classTotals,
  compareLine,
  missedPaymentResolution,
  missingAtChannel,
  noneMatched,
  refundMissingAtChannel,
  type Difference,
  type DifferenceKind,
  type Matched,
  type ReconciliationReport,
  type ReportItem,
  type Resolution,
  type StatementEntry,
} from '../domain/reconciliation';
import {
  decideHold,
  heldUntil,
  holdHorizon,
  holdShifts,
  type HoldClock,
} from '../domain/reconciliationHolding';
import type { WorkerMetrics } from '../metrics';
import type { Corrections } from '../services/corrections';
import { strayPaymentWorkflowId } from '../workflows/contracts/strayPayment';

/** The size of the pieces the statement file is stored in. */
const statementChunkBytes = 1 << 20;
/** Statement lines matched per query: the books' answer for them is what the activity holds. */
const comparePage = 5000;

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

export function createReconcileActivities(deps: {
  db: Db;
  channels: ChannelRegistry;
  corrections: Corrections;
  log: Logger;
  /** RECONCILE_HOLD_DAYS: how long a possible day-boundary shift waits for another statement. */
  holdDays: number;
  metrics: WorkerMetrics;
}) {
  const { db } = deps;

  /**
   * The channel's held differences, whatever their day: one another day's statement books is
   * cleared with that line as evidence, one whose hold is over goes to the operators, the rest
   * stay held. Answers the rows it changed (each changed once, also by runs at the same time).
   */
  async function settleHolds(channel: string, clock: HoldClock) {
    const held = await books.heldDifferences(db, channel);
    const bookings = await books.bookingsOf(db, channel, [
      ...new Set(held.map((row) => row.reference)),
    ]);
    const settled: RecordedDifference[] = [];
    for (const row of held) {
      const booking = bookings.find((b) => b.reference === row.reference && b.day !== row.day);
      const decided = decideHold(row.day, booking, clock);
      if (decided.decision === 'HOLD') continue;
      const changed =
        decided.decision === 'CLEAR'
          ? await books.clearHeld(db, row, decided.booking)
          : await books.releaseHeld(db, row, heldUntil(row.day, clock.holdDays));
      if (changed) settled.push(changed);
    }
    return settled;
  }

  /**
   * Differences an earlier run found that this one does not: settled since. A missed payment is
   * CORRECTED only once its money is accounted for (`missedPaymentResolution`); until then it
   * stays CORRECTING.
   */
  async function settleVanished(channel: string, day: string, present: RecordedDifference[]) {
    const stillThere = new Set(present.map((r) => r.id));
    const open = await books.unsettledDifferencesOfDay(db, channel, day);
    let settled = 0;
    for (const row of open.filter((r) => !stillThere.has(r.id))) {
      const resolution = await resolutionOnceVanished(row);
      if (resolution === row.resolution) continue;
      settled += 1;
      await books.markVanished(db, row.id, resolution);
    }
    return settled;
  }

  async function resolutionOnceVanished(row: RecordedDifference): Promise<Resolution> {
    if (row.resolution === 'OPS') return 'RESOLVED';
    if (row.kind !== 'MISSED_PAYMENT' || !row.payOrderId || !row.attemptId) return 'CORRECTED';
    return missedPaymentResolution(
      await books.missedPaymentAfterCorrection(db, {
        payOrderId: row.payOrderId,
        attemptId: row.attemptId,
      }),
    );
  }

  /** Pay orders of undecidable differences not yet on the operators' list, and why they go there. */
  async function unflagged(rows: RecordedDifference[]) {
    const ids = [...new Set(rows.map((row) => row.payOrderId!))];
    const flagged = await books.payOrdersNeedingAttention(db, ids);
    return rows
      .filter((row) => !flagged.has(row.payOrderId!) && flagged.add(row.payOrderId!))
      .map((row) => ({
        payOrderId: row.payOrderId!,
        reason: `reconciliation ${row.channel} ${row.day}: ${row.kind} ${row.reference}`,
      }));
  }

  function reportItem(row: RecordedDifference, reportDay: string): ReportItem {
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
    /**
     * Downloads the day's statement into the books as it arrives (its lines, and its file as
     * served; an unchanged one is kept once) and starts the run. Heartbeats the lines stored.
     */
    async fetchStatement({ channel, day }: ReconcileRef) {
      const adapter = deps.channels.get(channel);
      if (!adapter) {
        throw ApplicationFailure.nonRetryable(`no channel ${channel}`, 'UNSUPPORTED_CHANNEL');
      }
      const activity = Context.current();
      const statementId = await books.beginStatement(db, channel, day);
      const sha256 = createHash('sha256');
      let file: Buffer[] = [];
      let fileBytes = 0;
      let chunks = 0;
      const storeFile = async () => {
        if (fileBytes === 0) return;
        await books.storeStatementChunk(db, statementId, chunks++, Buffer.concat(file));
        file = [];
        fileBytes = 0;
      };
      let lines = 0;
      try {
        const batches = adapter.fetchStatement(day, async (raw) => {
          sha256.update(raw);
          file.push(raw);
          fileBytes += raw.length;
          if (fileBytes >= statementChunkBytes) await storeFile();
          activity.heartbeat({ lines });
        });
        for await (const batch of batches) {
          await books.storeStatementLines(db, statementId, lines + 1, batch);
          lines += batch.length;
          activity.heartbeat({ lines });
        }
        await storeFile();
      } catch (err) {
        await books.discardStatement(db, statementId);
        throw err;
      }
      const stored = await books.completeStatement(db, statementId, sha256.digest('hex'));
      await books.startReconciliation(db, channel, day, stored);
      return { statementId: stored, lines };
    },

    /**
     * Matches the stored statement with the books, a page of lines at a time, and records every
     * difference with its evidence as it is found; then what the books hold as done that day and
     * the statement does not name. Heartbeats the lines matched.
     */
    async compareStatement({
      channel,
      day,
      statementId,
    }: ReconcileRef & { statementId: string }): Promise<Comparison> {
      const activity = Context.current();
      const latestDay = await books.latestStatementDay(db, channel);
      const horizon = holdHorizon(latestDay ?? day, businessDayOf(new Date()));
      const clock = { horizon, holdDays: deps.holdDays };
      // First the holds of every day: this day's statement may be the one that books them.
      const holdsSettled = await settleHolds(channel, clock);
      const matched = noneMatched();
      const rows: RecordedDifference[] = [];
      const record = async (differences: Difference[]) => {
        rows.push(
          ...(await books.recordDifferences(db, channel, day, holdShifts(day, differences, clock))),
        );
      };
      let after = 0;
      for (;;) {
        const page = await books.statementLinesWithBooks(
          db,
          channel,
          statementId,
          after,
          comparePage,
        );
        if (page.length === 0) break;
        await record(
          page.flatMap(({ line, books: held }) => compareLine(line, held, matched) ?? []),
        );
        after = page[page.length - 1]!.n;
        activity.heartbeat({ lines: after });
      }
      const statementLines = after;
      const unnamed = await books.unnamedSuccesses(
        db,
        channel,
        day,
        statementId,
        businessDayBounds(day),
      );
      await record([
        ...unnamed.payments.map(missingAtChannel),
        ...unnamed.refunds.map(refundMissingAtChannel),
      ]);
      for (const row of rows) {
        const { kind, resolution } = row;
        deps.metrics.reconciliationDifferences.inc({ channel, kind, resolution });
      }
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
        statementLines,
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
      // Counted once per difference, however often a run of its day hands it over again.
      if (await books.noteDifferenceAction(db, missed.differenceId, action)) {
        deps.metrics.anomaliesHarmless.inc({ kind: 'found_by_reconciliation' });
      }
      return handled;
    },

    /** Puts a pay order with an undecidable difference on the operators' list. */
    async flagForOperator({ payOrderId, reason }: { payOrderId: string; reason: string }) {
      await deps.corrections.flagPayOrder(payOrderId, reason, {
        code: 'RECONCILIATION_DIFFERENCE',
      });
    },

    /** Writes the run's report from its recorded differences and answers it. */
    async finishReconciliation({
      channel,
      day,
      statementId,
      comparison,
    }: ReconcileRef & { statementId: string; comparison: Comparison }) {
      const rows = await books.unresolvedDifferencesOfDay(db, channel, day);
      const current = rows.filter((r) => r.resolution === 'CORRECTING' || r.resolution === 'OPS');
      const holdsSettled = await books.differencesWithIds(db, comparison.holdsSettled ?? []);
      const runs = await books.runsOfDay(db, channel, day);
      const report: ReconciliationReport = {
        channel,
        day,
        statementId,
        statementLines: comparison.statementLines,
        run: runs ?? 1,
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
      await books.completeReconciliation(db, report);
      return report;
    },

    /** A run that could not finish (statement unavailable): recorded, so operators see it. */
    async failReconciliation({ channel, day, reason }: ReconcileRef & { reason: string }) {
      await books.failReconciliation(db, channel, day, reason);
    },
  };
}

export type ReconcileActivities = ReturnType<typeof createReconcileActivities>;
