// Side effects of the safety-net scans: find suspects in the books, correct each new finding
// through the workflows (or put its pay order before an operator), and keep the findings' record.
// The books are read and written by src/db/books/safetyNet.ts; the rules are src/domain's.
import type { Logger } from 'pino';
import type { Db } from '../db/client';
import * as books from '../db/books/safetyNet';
import type { SuspectAttempt } from '../db/books/safetyNet';
import { checkMoney } from '../domain/moneyInvariant';
import type { WorkerMetrics } from '../metrics';
import {
  correctUnrefundedSuccess,
  cutoff,
  defaultMoneyLookbackSeconds,
  emptyCheckReport,
  moneyFinding,
  suspectsPerCheck,
  type CheckReport,
  type FindingAction,
  type SafetyNetAction,
  type SafetyNetCheck,
} from '../domain/safetyNet';
import type { Corrections, UnrefundedSuccess } from '../services/corrections';
import { sweepExpiredIdempotencyKeys } from '../services/idempotencyKeys';
import type { PaymentWorkflows } from '../services/paymentWorkflows';
import type { RefundWorkflows } from '../services/refundWorkflows';
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
  metrics: WorkerMetrics;
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

export function createSafetyNetActivities({
  db,
  corrections,
  paymentWorkflows,
  refundWorkflows,
  log,
  idempotencyKeyRetentionSeconds,
  metrics,
}: SafetyNetActivityDeps) {
  /** What a check reads: its own findings, within the scan's merchant if it names one. */
  const scopeOf = (run: CheckRun): books.ScanScope => ({
    check: run.check,
    ...(run.input.merchantId ? { merchantId: run.input.merchantId } : {}),
  });
  /** Past the grace in which the workflows (or the API) may still do it themselves. */
  const graceCutoff = (run: CheckRun) => cutoff(run.scannedAt, run.input.graceSeconds);

  /** A channel order as a suspect, with the evidence as it was when found. */
  const attemptSuspect = (r: SuspectAttempt): Suspect => ({
    subject: r.attemptId,
    payOrderId: r.payOrderId,
    prior: r.prior,
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
  });

  /** Successful channel orders no refund answers, with what a stray-payment refund needs. */
  function unrefundedSuccesses(
    read: (db: Db, scope: books.ScanScope, paidBefore: Date) => Promise<SuspectAttempt[]>,
  ) {
    return async (run: CheckRun): Promise<Suspect[]> => {
      // The workflows record a success before they refund it: give them the grace first.
      const found = await read(db, scopeOf(run), graceCutoff(run));
      return found.map((row) => ({
        ...attemptSuspect(row),
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
    const found = await books.attemptsOpenPastExpiry(db, scopeOf(run), graceCutoff(run));
    return found.map((row) => ({
      ...attemptSuspect(row),
      flagReason: `channel order ${row.outTradeNo} is still ${row.status} though the order expired at ${iso(row.expiresAt)}`,
      // Its workflow may only be late in closing it (retries of the close, a worker backlog).
      flagPasses: 'OPEN_PAST_EXPIRY' as const,
    }));
  }

  async function refundsNotFinal(run: CheckRun): Promise<Suspect[]> {
    const rows = await books.refundsProcessingSince(
      db,
      scopeOf(run),
      cutoff(run.scannedAt, run.input.refundFinalWithinSeconds),
    );
    return rows.map((r) => ({
      subject: r.refundId,
      payOrderId: r.payOrderId,
      prior: r.prior,
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
    const rows = await books.merchantEventsUndelivered(
      db,
      scopeOf(run),
      cutoff(run.scannedAt, run.input.merchantNotifyGiveUpSeconds),
    );
    return rows.map((r) => ({
      subject: r.eventId,
      payOrderId: r.payOrderId,
      prior: r.prior,
      detail: { eventId: r.eventId, type: r.type, status: r.status, createdAt: iso(r.createdAt) },
      flagReason: `merchant event ${r.eventId} (${r.type}) is still ${r.status} since ${iso(r.createdAt)}`,
    }));
  }

  /**
   * Settled pay orders whose books break the money invariant, judged by `checkMoney` page by page
   * over the window (`books.settledOrdersPage` says which orders it reads). The window bounds what
   * a scan reads: books that last changed within the lookback before the grace period.
   */
  async function moneyNotConserved(run: CheckRun): Promise<Suspect[]> {
    const settledBefore = graceCutoff(run);
    const lookback = run.input.moneyLookbackSeconds ?? defaultMoneyLookbackSeconds;
    const window = {
      changedSince: cutoff(run.scannedAt, run.input.graceSeconds + lookback),
      settledBefore,
    };
    const suspects: Suspect[] = [];
    for (let after = ''; ;) {
      const page = await books.settledOrdersPage(db, scopeOf(run), window, after);
      if (page.orders.length === 0) break;
      after = page.orders.at(-1)!.id;
      for (const order of page.orders) {
        const verdict = checkMoney({
          order,
          attempts: page.attempts.filter((a) => a.payOrderId === order.id),
          refunds: page.refunds.filter((r) => r.payOrderId === order.id),
        });
        const evidence = moneyFinding(verdict, order.open);
        if (!evidence) continue;
        suspects.push({
          subject: order.id,
          payOrderId: order.id,
          prior: order.prior,
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
    const rows = await books.payOrdersNeverStarted(db, scopeOf(run), graceCutoff(run));
    return rows.map(({ order, prior }) => ({
      subject: order.id,
      payOrderId: order.id,
      prior,
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
    const rows = await books.merchantRefundsNeverStarted(db, scopeOf(run), graceCutoff(run));
    return rows.map(({ refund, prior }) => ({
      subject: refund.id,
      payOrderId: refund.payOrderId,
      prior,
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
    EXTRA_SUCCESS_UNREFUNDED: unrefundedSuccesses(books.extraSuccessesUnrefunded),
    CLOSED_ORDER_PAID: unrefundedSuccesses(books.closedOrdersPaid),
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
    await corrections.flagPayOrder(suspect.payOrderId, `safety net ${check}: ${reason}`, {
      code: check,
      passes: suspect.flagPasses,
    });
    return { action: 'FLAGGED', reason };
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
          await books.findingSeenAgain(db, run.check, suspect.subject, new Date(run.scannedAt));
          report.alreadyKnown += 1;
          continue;
        }
        const decision = await correct(run.check, suspect);
        await books.recordFinding(db, {
          check: run.check,
          subject: suspect.subject,
          payOrderId: suspect.payOrderId,
          action: decision.action,
          detail: { ...suspect.detail, reason: decision.reason, workflowId: decision.workflowId },
          scannedAt: new Date(run.scannedAt),
        });
        if (decision.action === 'WAITING') {
          report.waiting += 1;
          continue;
        }
        metrics.safetyNetFindings.inc({ check: run.check, action: decision.action });
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
      if (!truncated) {
        report.cleared = await books.clearFindingsGone(db, scopeOf(run), new Date(run.scannedAt));
      }
      return report;
    },

    /** Deletes idempotency keys past their time to live; answers how many. */
    async sweepExpiredIdempotencyKeys(): Promise<number> {
      return sweepExpiredIdempotencyKeys(db, idempotencyKeyRetentionSeconds);
    },

    async countOpenSafetyNetFindings(): Promise<number> {
      return books.countOpenFindings(db);
    },
  };
}

export type SafetyNetActivities = ReturnType<typeof createSafetyNetActivities>;
