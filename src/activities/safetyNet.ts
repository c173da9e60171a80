// Side effects of the safety-net scans: find suspects in the books, correct each new finding
// through the workflows (or put its pay order before an operator), and keep the findings' record.
import {
  and,
  asc,
  count,
  eq,
  gt,
  gte,
  inArray,
  isNotNull,
  isNull,
  lt,
  ne,
  notExists,
  or,
  sql,
  type SQL,
} from 'drizzle-orm';
import { union, type PgColumn } from 'drizzle-orm/pg-core';
import type { Logger } from 'pino';
import type { Db } from '../db/client';
import {
  channelAttempts,
  merchantNotifications,
  payOrders,
  refunds,
  safetyNetFindings,
} from '../db/schema';
import { newId } from '../domain/ids';
import { checkMoney, type MoneyVerdict } from '../domain/moneyInvariant';
import { openStatuses, paidStatuses } from '../domain/payOrder';
import {
  correctUnrefundedSuccess,
  cutoff,
  defaultMoneyLookbackSeconds,
  emptyCheckReport,
  moneyCheckPage,
  suspectsPerCheck,
  type CheckReport,
  type FindingAction,
  type SafetyNetAction,
  type SafetyNetCheck,
} from '../domain/safetyNet';
import type { Corrections, UnrefundedSuccess } from '../services/corrections';
import { sweepExpiredIdempotencyKeys } from '../services/idempotencyKeys';
import type { PaymentWorkflows } from '../services/paymentWorkflows';
import { merchantRefundReason, type RefundWorkflows } from '../services/refundWorkflows';
import type { WorkflowStart } from '../services/workflowStarts';
import { paymentWorkflowId } from '../workflows/contracts/payment';
import type { SafetyNetInput } from '../workflows/contracts/safetyNetScan';
import { strayPaymentWorkflowId } from '../workflows/contracts/strayPayment';

export interface SafetyNetActivityDeps {
  db: Db;
  corrections: Corrections;
  paymentWorkflows: PaymentWorkflows;
  refundWorkflows: RefundWorkflows;
  log: Logger;
  /** How long an Idempotency-Key's answer is replayed before the sweep deletes it. */
  idempotencyKeyRetentionSeconds: number;
}

/** One check of one scan; `scannedAt` is the scan's moment, the same for all its checks. */
export interface CheckRun {
  check: SafetyNetCheck;
  scannedAt: string;
  input: SafetyNetInput;
}

/** Something a check found in the books, with the finding an earlier scan recorded for it. */
interface Suspect {
  subject: string;
  payOrderId: string;
  prior: FindingAction | null;
  /** The evidence, as it was when found. */
  detail: Record<string, unknown>;
  /** Why an operator should look, for checks that only flag. */
  flagReason?: string;
  /** The flag passes once no channel order of the order is open (the pay order workflow clears it). */
  flagPasses?: 'OPEN_PAST_EXPIRY';
  /** For unrefunded successes: what a stray-payment refund needs. */
  success?: UnrefundedSuccess;
  /** For a pay order or merchant refund whose workflow never started: starts it. */
  startWorkflow?: () => Promise<WorkflowStart>;
}

interface Decision {
  action: FindingAction;
  reason: string;
  workflowId?: string;
}

const iso = (at: Date | null) => at?.toISOString() ?? null;
const before = (at: Date) => sql`${at.toISOString()}::timestamptz`;

/**
 * What a money verdict is to the scan: nothing when conserved, or in flight with no finding open
 * (no verdict yet); else the evidence and the reason to flag (or to keep an open finding open).
 */
function moneyEvidence(verdict: MoneyVerdict, findingOpen: boolean) {
  if (verdict.inFlight) {
    return findingOpen ? { detail: { inFlight: verdict.message }, reason: verdict.message } : null;
  }
  if (verdict.ok) return null;
  return {
    detail: {
      violation: verdict.code,
      netAtChannel: verdict.netAtChannel,
      expected: verdict.expected,
      outTradeNo: verdict.outTradeNo ?? null,
    },
    reason: `${verdict.code}: ${verdict.message}`,
  };
}

export function createSafetyNetActivities({
  db,
  corrections,
  paymentWorkflows,
  refundWorkflows,
  log,
  idempotencyKeyRetentionSeconds,
}: SafetyNetActivityDeps) {
  /** Joins the finding an earlier scan recorded for the same subject, if any. */
  const findingOf = (check: SafetyNetCheck, subject: PgColumn) =>
    and(eq(safetyNetFindings.check, check), eq(safetyNetFindings.subject, subject));
  /** Unknown suspects first, so a pile of known ones never starves a new one. */
  const knownLast = sql`${safetyNetFindings.id} is not null`;
  const ofMerchant = (column: PgColumn, run: CheckRun) =>
    run.input.merchantId ? eq(column, run.input.merchantId) : undefined;

  /** Channel orders matching `where`, with their pay order and their finding, oldest first. */
  async function attemptSuspects(run: CheckRun, where: SQL | undefined, age: PgColumn) {
    const rows = await db
      .select({
        attemptId: channelAttempts.id,
        payOrderId: channelAttempts.payOrderId,
        channel: channelAttempts.channel,
        outTradeNo: channelAttempts.outTradeNo,
        status: channelAttempts.status,
        amount: channelAttempts.amount,
        currency: channelAttempts.currency,
        paidAt: channelAttempts.paidAt,
        orderStatus: payOrders.status,
        expiresAt: payOrders.expiresAt,
        prior: safetyNetFindings.action,
      })
      .from(channelAttempts)
      .innerJoin(payOrders, eq(payOrders.id, channelAttempts.payOrderId))
      .leftJoin(safetyNetFindings, findingOf(run.check, channelAttempts.id))
      .where(and(where, ofMerchant(payOrders.merchantId, run)))
      .orderBy(knownLast, asc(age))
      .limit(suspectsPerCheck + 1);
    return rows.map((r) => ({
      row: r,
      suspect: {
        subject: r.attemptId,
        payOrderId: r.payOrderId,
        prior: r.prior as FindingAction | null,
        detail: {
          attemptId: r.attemptId,
          outTradeNo: r.outTradeNo,
          channel: r.channel,
          status: r.status,
          amount: r.amount,
          currency: r.currency,
          paidAt: iso(r.paidAt),
          orderStatus: r.orderStatus,
          expiresAt: iso(r.expiresAt),
        },
      },
    }));
  }

  /** Successful channel orders of orders matching `orderIs` that no refund answers. */
  function unrefundedSuccesses(orderIs: SQL) {
    return async (run: CheckRun): Promise<Suspect[]> => {
      const found = await attemptSuspects(
        run,
        and(
          inArray(channelAttempts.status, [...paidStatuses]),
          orderIs,
          // The workflows record a success before they refund it: give them the grace first.
          sql`coalesce(${channelAttempts.paidAt}, ${channelAttempts.updatedAt}) < ${before(
            cutoff(run.scannedAt, run.input.graceSeconds),
          )}`,
          notExists(
            db
              .select({ one: sql`1` })
              .from(refunds)
              .where(eq(refunds.attemptId, channelAttempts.id)),
          ),
        ),
        channelAttempts.paidAt,
      );
      return found.map(({ row, suspect }) => ({
        ...suspect,
        success: {
          payOrderId: row.payOrderId,
          attemptId: row.attemptId,
          channel: row.channel,
          outTradeNo: row.outTradeNo,
        },
      }));
    };
  }

  async function attemptsOpenPastExpiry(run: CheckRun): Promise<Suspect[]> {
    const found = await attemptSuspects(
      run,
      and(
        inArray(channelAttempts.status, [...openStatuses]),
        lt(payOrders.expiresAt, cutoff(run.scannedAt, run.input.graceSeconds)),
      ),
      payOrders.expiresAt,
    );
    return found.map(({ row, suspect }) => ({
      ...suspect,
      flagReason: `channel order ${row.outTradeNo} is still ${row.status} though the order expired at ${iso(row.expiresAt)}`,
      // Its workflow may only be late in closing it (retries of the close, a worker backlog).
      flagPasses: 'OPEN_PAST_EXPIRY' as const,
    }));
  }

  async function refundsNotFinal(run: CheckRun): Promise<Suspect[]> {
    const rows = await db
      .select({
        refundId: refunds.id,
        payOrderId: refunds.payOrderId,
        attemptId: refunds.attemptId,
        amount: refunds.amount,
        currency: refunds.currency,
        reason: refunds.reason,
        createdAt: refunds.createdAt,
        prior: safetyNetFindings.action,
      })
      .from(refunds)
      .leftJoin(safetyNetFindings, findingOf(run.check, refunds.id))
      .where(
        and(
          eq(refunds.status, 'PROCESSING'),
          lt(refunds.createdAt, cutoff(run.scannedAt, run.input.refundFinalWithinSeconds)),
          ofMerchant(refunds.merchantId, run),
        ),
      )
      .orderBy(knownLast, asc(refunds.createdAt))
      .limit(suspectsPerCheck + 1);
    return rows.map((r) => ({
      subject: r.refundId,
      payOrderId: r.payOrderId,
      prior: r.prior as FindingAction | null,
      detail: {
        refundId: r.refundId,
        attemptId: r.attemptId,
        amount: r.amount,
        currency: r.currency,
        reason: r.reason,
        createdAt: iso(r.createdAt),
      },
      flagReason: `refund ${r.refundId} is still PROCESSING since ${iso(r.createdAt)}`,
    }));
  }

  async function merchantEventsUndelivered(run: CheckRun): Promise<Suspect[]> {
    const rows = await db
      .select({
        eventId: merchantNotifications.eventId,
        payOrderId: merchantNotifications.payOrderId,
        type: merchantNotifications.type,
        status: merchantNotifications.status,
        createdAt: merchantNotifications.createdAt,
        prior: safetyNetFindings.action,
      })
      .from(merchantNotifications)
      .leftJoin(safetyNetFindings, findingOf(run.check, merchantNotifications.eventId))
      .where(
        and(
          ne(merchantNotifications.status, 'DELIVERED'),
          lt(
            merchantNotifications.createdAt,
            cutoff(run.scannedAt, run.input.merchantNotifyGiveUpSeconds),
          ),
          ofMerchant(merchantNotifications.merchantId, run),
        ),
      )
      .orderBy(knownLast, asc(merchantNotifications.createdAt))
      .limit(suspectsPerCheck + 1);
    return rows.map((r) => ({
      subject: r.eventId,
      payOrderId: r.payOrderId,
      prior: r.prior as FindingAction | null,
      detail: { eventId: r.eventId, type: r.type, status: r.status, createdAt: iso(r.createdAt) },
      flagReason: `merchant event ${r.eventId} (${r.type}) is still ${r.status} since ${iso(r.createdAt)}`,
    }));
  }

  /**
   * Settled pay orders whose books break the money invariant. Read: SUCCEEDED or CLOSED orders
   * with nothing in flight whose books (order, channel orders, refunds) last changed within the
   * lookback window before the grace period, and those with an open finding of this check (judged
   * again until conserved), leaving out orders another check has an open finding on (it owns them).
   * The window bounds what a scan reads; it is read in pages by pay order ID.
   */
  async function moneyNotConserved(run: CheckRun): Promise<Suspect[]> {
    const settledBefore = cutoff(run.scannedAt, run.input.graceSeconds);
    const lookback = run.input.moneyLookbackSeconds ?? defaultMoneyLookbackSeconds;
    const changedSince = cutoff(run.scannedAt, run.input.graceSeconds + lookback);
    const changedWithin = (updatedAt: PgColumn) =>
      and(gte(updatedAt, changedSince), lt(updatedAt, settledBefore));
    // The orders to read, each found by an index: books changed in the window, or a finding open.
    const candidates = union(
      db.select({ id: payOrders.id }).from(payOrders).where(changedWithin(payOrders.updatedAt)),
      db
        .select({ id: channelAttempts.payOrderId })
        .from(channelAttempts)
        .where(changedWithin(channelAttempts.updatedAt)),
      db.select({ id: refunds.payOrderId }).from(refunds).where(changedWithin(refunds.updatedAt)),
      db
        .select({ id: safetyNetFindings.subject }) // this check's subject is the pay order
        .from(safetyNetFindings)
        .where(and(eq(safetyNetFindings.check, run.check), isNull(safetyNetFindings.clearedAt))),
    );
    const ofThisOrder = (table: typeof channelAttempts | typeof refunds, also: SQL) =>
      notExists(
        db
          .select({ one: sql`1` })
          .from(table)
          .where(and(eq(table.payOrderId, payOrders.id), also)),
      );
    const otherChecksFinding = notExists(
      db
        .select({ one: sql`1` })
        .from(safetyNetFindings)
        .where(
          and(
            eq(safetyNetFindings.payOrderId, payOrders.id),
            ne(safetyNetFindings.check, run.check),
            isNull(safetyNetFindings.clearedAt),
          ),
        ),
    );
    const settled = and(
      inArray(payOrders.status, ['SUCCEEDED', 'CLOSED']),
      lt(payOrders.updatedAt, settledBefore),
      ofThisOrder(channelAttempts, gte(channelAttempts.updatedAt, settledBefore)),
      ofThisOrder(refunds, gte(refunds.updatedAt, settledBefore)),
      ofThisOrder(channelAttempts, inArray(channelAttempts.status, [...openStatuses])),
      ofThisOrder(refunds, eq(refunds.status, 'PROCESSING')),
    );
    // Flagging changes the order, and an operator's repair may put money in flight: an open
    // finding stays open, whatever the order's age, until its books are seen conserved.
    const openFinding = and(isNotNull(safetyNetFindings.id), isNull(safetyNetFindings.clearedAt));

    const suspects: Suspect[] = [];
    for (let after = ''; ;) {
      const page = await db
        .select({
          id: payOrders.id,
          status: payOrders.status,
          amount: payOrders.amount,
          currency: payOrders.currency,
          prior: safetyNetFindings.action,
          open: sql<boolean>`${openFinding}`,
        })
        .from(payOrders)
        .leftJoin(safetyNetFindings, findingOf(run.check, payOrders.id))
        .where(
          and(
            gt(payOrders.id, after),
            inArray(payOrders.id, candidates),
            or(openFinding, and(settled, otherChecksFinding)),
            ofMerchant(payOrders.merchantId, run),
          ),
        )
        .orderBy(asc(payOrders.id))
        .limit(moneyCheckPage);
      if (page.length === 0) break;
      after = page.at(-1)!.id;
      const ids = page.map((o) => o.id);
      const attempts = await db
        .select()
        .from(channelAttempts)
        .where(inArray(channelAttempts.payOrderId, ids));
      const refundRows = await db.select().from(refunds).where(inArray(refunds.payOrderId, ids));
      for (const order of page) {
        const verdict = checkMoney({
          order,
          attempts: attempts.filter((a) => a.payOrderId === order.id),
          refunds: refundRows.filter((r) => r.payOrderId === order.id),
        });
        const evidence = moneyEvidence(verdict, order.open);
        if (!evidence) continue;
        suspects.push({
          subject: order.id,
          payOrderId: order.id,
          prior: order.prior as FindingAction | null,
          detail: {
            orderStatus: order.status,
            amount: order.amount,
            currency: order.currency,
            ...evidence.detail,
          },
          flagReason: evidence.reason,
        });
      }
    }
    // Unknown findings first, as every check: a pile of known ones never starves a new one.
    return suspects.sort((a, b) => Number(a.prior !== null) - Number(b.prior !== null));
  }

  /**
   * Pay orders still CREATED whose workflow was never started (the API crashed between the insert
   * and the start), past the grace in which the API that inserted them may still start it.
   */
  async function workflowsNotStarted(run: CheckRun): Promise<Suspect[]> {
    const rows = await db
      .select({ order: payOrders, prior: safetyNetFindings.action })
      .from(payOrders)
      .leftJoin(safetyNetFindings, findingOf(run.check, payOrders.id))
      .where(
        and(
          eq(payOrders.workflowStarted, false),
          eq(payOrders.status, 'CREATED'),
          lt(payOrders.createdAt, cutoff(run.scannedAt, run.input.graceSeconds)),
          ofMerchant(payOrders.merchantId, run),
        ),
      )
      .orderBy(knownLast, asc(payOrders.createdAt))
      .limit(suspectsPerCheck + 1);
    return rows.map(({ order, prior }) => ({
      subject: order.id,
      payOrderId: order.id,
      prior: prior as FindingAction | null,
      detail: {
        merchantOrderNo: order.merchantOrderNo,
        amount: order.amount,
        currency: order.currency,
        createdAt: iso(order.createdAt),
        expiresAt: iso(order.expiresAt),
      },
      startWorkflow: () => paymentWorkflows.ensurePaymentWorkflow(order),
    }));
  }

  /** Merchant refunds still PROCESSING whose workflow was never started (the same crash). */
  async function refundWorkflowsNotStarted(run: CheckRun): Promise<Suspect[]> {
    const rows = await db
      .select({ refund: refunds, prior: safetyNetFindings.action })
      .from(refunds)
      .leftJoin(safetyNetFindings, findingOf(run.check, refunds.id))
      .where(
        and(
          eq(refunds.workflowStarted, false),
          eq(refunds.status, 'PROCESSING'),
          // The workflows record their own refunds; only the API starts merchant refunds.
          eq(refunds.reason, merchantRefundReason),
          lt(refunds.createdAt, cutoff(run.scannedAt, run.input.graceSeconds)),
          ofMerchant(refunds.merchantId, run),
        ),
      )
      .orderBy(knownLast, asc(refunds.createdAt))
      .limit(suspectsPerCheck + 1);
    return rows.map(({ refund, prior }) => ({
      subject: refund.id,
      payOrderId: refund.payOrderId,
      prior: prior as FindingAction | null,
      detail: {
        refundId: refund.id,
        merchantRefundNo: refund.merchantRefundNo,
        amount: refund.amount,
        currency: refund.currency,
        createdAt: iso(refund.createdAt),
      },
      startWorkflow: () => refundWorkflows.ensureRefundWorkflow(refund),
    }));
  }

  const suspectsOf: Record<SafetyNetCheck, (run: CheckRun) => Promise<Suspect[]>> = {
    EXTRA_SUCCESS_UNREFUNDED: unrefundedSuccesses(
      and(
        eq(payOrders.status, 'SUCCEEDED'),
        sql`${channelAttempts.id} is distinct from ${payOrders.paidAttemptId}`,
      )!,
    ),
    CLOSED_ORDER_PAID: unrefundedSuccesses(eq(payOrders.status, 'CLOSED')),
    ATTEMPT_OPEN_PAST_EXPIRY: attemptsOpenPastExpiry,
    REFUND_NOT_FINAL: refundsNotFinal,
    MERCHANT_NOT_NOTIFIED: merchantEventsUndelivered,
    MONEY_NOT_CONSERVED: moneyNotConserved,
    WORKFLOW_NOT_STARTED: workflowsNotStarted,
    REFUND_WORKFLOW_NOT_STARTED: refundWorkflowsNotStarted,
  };

  /**
   * Corrects one new finding: a workflow refunds an unrefunded success, a pay order or refund
   * without its workflow gets it (the same start as the API's), all else is flagged.
   */
  async function correct(check: SafetyNetCheck, suspect: Suspect): Promise<Decision> {
    if (suspect.startWorkflow) {
      const start = await suspect.startWorkflow();
      return {
        action: 'WORKFLOW_STARTED',
        reason:
          start === 'ALREADY_STARTED'
            ? 'its workflow existed: marked as started'
            : 'its workflow was never started: started it',
        workflowId: suspect.subject,
      };
    }
    let reason = suspect.flagReason ?? 'found by the safety net';
    if (suspect.success) {
      const correction = correctUnrefundedSuccess({
        payOrderWorkflow: await corrections.workflowState(paymentWorkflowId(suspect.payOrderId)),
        strayPayment: await corrections.workflowState(
          strayPaymentWorkflowId(suspect.success.attemptId),
        ),
      });
      if (correction.kind === 'strayPayment') {
        const workflowId = await corrections.refundUnrefundedSuccess(suspect.success);
        return {
          action: 'STRAY_PAYMENT',
          reason: 'refunded by a stray-payment workflow',
          workflowId,
        };
      }
      if (correction.kind === 'wait') return { action: 'WAITING', reason: correction.reason };
      reason = correction.reason;
    }
    await corrections.flagPayOrder(
      suspect.payOrderId,
      `safety net ${check}: ${reason}`,
      suspect.flagPasses,
    );
    return { action: 'FLAGGED', reason };
  }

  /** Records a finding acted on (or waited on) now; a retried activity counts its scan once. */
  async function recordFinding(run: CheckRun, suspect: Suspect, decision: Decision) {
    const scannedAt = new Date(run.scannedAt);
    const detail = { ...suspect.detail, reason: decision.reason, workflowId: decision.workflowId };
    await db
      .insert(safetyNetFindings)
      .values({
        id: newId('snf', Date.now(), Math.random),
        check: run.check,
        subject: suspect.subject,
        payOrderId: suspect.payOrderId,
        action: decision.action,
        detail,
        firstSeenAt: scannedAt,
        lastSeenAt: scannedAt,
      })
      .onConflictDoUpdate({
        target: [safetyNetFindings.check, safetyNetFindings.subject],
        set: {
          action: decision.action,
          detail,
          timesSeen: sql`case when ${safetyNetFindings.lastSeenAt} < ${before(scannedAt)}
            then ${safetyNetFindings.timesSeen} + 1 else ${safetyNetFindings.timesSeen} end`,
          lastSeenAt: scannedAt,
          clearedAt: null,
        },
      });
  }

  /** A finding seen again: counted once per scan, never acted on again. */
  async function seenAgain(run: CheckRun, suspect: Suspect) {
    const scannedAt = new Date(run.scannedAt);
    await db
      .update(safetyNetFindings)
      .set({
        timesSeen: sql`${safetyNetFindings.timesSeen} + 1`,
        lastSeenAt: scannedAt,
        clearedAt: null,
      })
      .where(
        and(
          eq(safetyNetFindings.check, run.check),
          eq(safetyNetFindings.subject, suspect.subject),
          lt(safetyNetFindings.lastSeenAt, scannedAt),
        ),
      );
  }

  /** Findings of this check the scan no longer sees (within its merchant, for a narrow scan). */
  async function clearGone(run: CheckRun): Promise<number> {
    const scannedAt = new Date(run.scannedAt);
    const cleared = await db
      .update(safetyNetFindings)
      .set({ clearedAt: scannedAt })
      .where(
        and(
          eq(safetyNetFindings.check, run.check),
          isNull(safetyNetFindings.clearedAt),
          lt(safetyNetFindings.lastSeenAt, scannedAt),
          run.input.merchantId
            ? inArray(
                safetyNetFindings.payOrderId,
                db
                  .select({ id: payOrders.id })
                  .from(payOrders)
                  .where(eq(payOrders.merchantId, run.input.merchantId)),
              )
            : undefined,
        ),
      )
      .returning({ id: safetyNetFindings.id });
    return cleared.length;
  }

  return {
    /** Runs one check: new findings are corrected or flagged, known ones only counted. */
    async runSafetyNetCheck(run: CheckRun): Promise<CheckReport> {
      const all = await suspectsOf[run.check](run);
      const truncated = all.length > suspectsPerCheck;
      const suspects = all.slice(0, suspectsPerCheck);
      const report = { ...emptyCheckReport(run.check), found: suspects.length, truncated };
      for (const suspect of suspects) {
        if (suspect.prior !== null && suspect.prior !== 'WAITING') {
          await seenAgain(run, suspect);
          report.alreadyKnown += 1;
          continue;
        }
        const decision = await correct(run.check, suspect);
        await recordFinding(run, suspect, decision);
        if (decision.action === 'WAITING') {
          report.waiting += 1;
          continue;
        }
        log.warn(
          {
            check: run.check,
            subject: suspect.subject,
            payOrderId: suspect.payOrderId,
            ...decision,
          },
          'safety net acted on a finding',
        );
        report.acted += 1;
        report.actions.push({
          check: run.check,
          subject: suspect.subject,
          payOrderId: suspect.payOrderId,
          action: decision.action,
          reason: decision.reason,
          ...(decision.workflowId ? { workflowId: decision.workflowId } : {}),
        } satisfies SafetyNetAction);
      }
      // A truncated check did not see everything: what it missed is not gone.
      if (!truncated) report.cleared = await clearGone(run);
      return report;
    },

    /** Deletes idempotency keys past their time to live; answers how many. */
    async sweepExpiredIdempotencyKeys(): Promise<number> {
      return sweepExpiredIdempotencyKeys(db, idempotencyKeyRetentionSeconds);
    },

    async countOpenSafetyNetFindings(): Promise<number> {
      const [row] = await db
        .select({ open: count() })
        .from(safetyNetFindings)
        .where(isNull(safetyNetFindings.clearedAt));
      return row?.open ?? 0;
    },
  };
}

export type SafetyNetActivities = ReturnType<typeof createSafetyNetActivities>;
