// The safety-net scans' rules: the checks, what a finding leads to, and the report of a scan.
import type { MoneyVerdict } from './moneyInvariant';

/**
 * EXTRA_SUCCESS_UNREFUNDED: a paid order has another successful channel order and no refund of it.
 * CLOSED_ORDER_PAID: a closed order has a successful channel order and no refund of it.
 * ATTEMPT_OPEN_PAST_EXPIRY: a channel order is still open though its order expired.
 * REFUND_NOT_FINAL: a refund is still PROCESSING.
 * MERCHANT_NOT_NOTIFIED: a merchant event is still undelivered.
 * WORKFLOW_NOT_STARTED: a pay order's workflow was never started (a crash after its insert).
 * REFUND_WORKFLOW_NOT_STARTED: a merchant refund's workflow was never started (the same crash).
 * MONEY_NOT_CONSERVED: a settled order's books break the money invariant (src/domain/moneyInvariant.ts).
 *   Last, so an order another check already corrects or flagged in the same scan is left to it.
 */
export const safetyNetChecks = [
  'EXTRA_SUCCESS_UNREFUNDED',
  'CLOSED_ORDER_PAID',
  'ATTEMPT_OPEN_PAST_EXPIRY',
  'REFUND_NOT_FINAL',
  'MERCHANT_NOT_NOTIFIED',
  'WORKFLOW_NOT_STARTED',
  'REFUND_WORKFLOW_NOT_STARTED',
  'MONEY_NOT_CONSERVED',
] as const;
export type SafetyNetCheck = (typeof safetyNetChecks)[number];

/** How many suspects one check handles per scan: a flood is for an operator, not for one activity. */
export const suspectsPerCheck = 200;

/** How many settled pay orders the money check reads at a time (it reads its whole window, in pages). */
export const moneyCheckPage = 500;

/**
 * The money check's window when the scan's input names none (a scan started before it existed):
 * an order whose books last changed between `grace + lookback` and `grace` ago.
 */
export const defaultMoneyLookbackSeconds = 3600;
/** The checks scans ran before they started missing workflows (replay of scans then running). */
export const safetyNetChecksBeforeWorkflowStarts = safetyNetChecks.filter(
  (check) => check !== 'WORKFLOW_NOT_STARTED' && check !== 'REFUND_WORKFLOW_NOT_STARTED',
);

/**
 * What a scan did about a finding. WAITING: a correction is already under way, so nothing was done
 * and the next scan decides again; any other action is taken once per finding.
 */
export type FindingAction = 'STRAY_PAYMENT' | 'WORKFLOW_STARTED' | 'FLAGGED' | 'WAITING';

/** Where a workflow stands, by its ID. NONE: never started, or past retention. */
export type WorkflowState = 'RUNNING' | 'CLOSED' | 'NONE';

export type Correction =
  { kind: 'strayPayment' } | { kind: 'flag'; reason: string } | { kind: 'wait'; reason: string };

/**
 * A success in the books that no refund answers (EXTRA_SUCCESS_UNREFUNDED, CLOSED_ORDER_PAID).
 * A running pay order workflow owns the order, so something went wrong inside it: an operator looks.
 * Once it has completed, the stray-payment refund (keyed by the channel order) corrects it, unless
 * one already ran for this channel order and still left it unrefunded.
 */
export function correctUnrefundedSuccess(states: {
  payOrderWorkflow: WorkflowState;
  strayPayment: WorkflowState;
}): Correction {
  if (states.payOrderWorkflow === 'RUNNING') {
    return {
      kind: 'flag',
      reason: 'a successful channel order is unrefunded while the pay order workflow runs',
    };
  }
  if (states.strayPayment === 'RUNNING') {
    return { kind: 'wait', reason: 'its stray-payment refund is under way' };
  }
  if (states.strayPayment === 'CLOSED') {
    return {
      kind: 'flag',
      reason: 'its stray-payment refund ended and the success is still unrefunded',
    };
  }
  return { kind: 'strayPayment' };
}

/**
 * What a money verdict is to the scan: nothing when conserved, or in flight with no finding open
 * (no verdict yet); else the evidence and the reason to flag (or to keep an open finding open).
 */
export function moneyFinding(verdict: MoneyVerdict, findingOpen: boolean) {
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

/** The moment before which a state counts as lasting too long: `seconds` before the scan. */
export function cutoff(scannedAt: string, seconds: number): Date {
  return new Date(Date.parse(scannedAt) - seconds * 1000);
}

/** One action a scan took, for the report. */
export interface SafetyNetAction {
  check: SafetyNetCheck;
  subject: string;
  payOrderId: string;
  action: Exclude<FindingAction, 'WAITING'>;
  /** The workflow that corrects it, for STRAY_PAYMENT and WORKFLOW_STARTED. */
  workflowId?: string;
  reason: string;
}

export interface CheckReport {
  check: SafetyNetCheck;
  /** Suspects seen by this scan (at most `suspectsPerCheck`). */
  found: number;
  /** New findings acted on now. */
  acted: number;
  /** Findings whose correction is under way elsewhere; decided again next scan. */
  waiting: number;
  /** Findings acted on by an earlier scan and still there: counted, not acted on again. */
  alreadyKnown: number;
  /** Findings of earlier scans this one no longer sees. */
  cleared: number;
  /** More suspects than one scan handles; the oldest unknown ones went first. */
  truncated: boolean;
  actions: SafetyNetAction[];
  /** The check could not run (after its retries); the others still did. */
  error?: string;
}

/** A check's report before it has handled anything. */
export function emptyCheckReport(check: SafetyNetCheck): CheckReport {
  return {
    check,
    found: 0,
    acted: 0,
    waiting: 0,
    alreadyKnown: 0,
    cleared: 0,
    truncated: false,
    actions: [],
  };
}

export interface SafetyNetReport {
  scannedAt: string;
  merchantId?: string;
  checks: Omit<CheckReport, 'actions'>[];
  /** What this scan did, with the pay orders. */
  actions: SafetyNetAction[];
  /** Pay orders handed to a workflow that corrects them (or whose own workflow was started). */
  autoCorrected: string[];
  /** Pay orders put before an operator (NeedsAttention) by this scan. */
  flagged: string[];
  /** Findings of every scan that are still there (not cleared). */
  openFindings: number;
  /** Idempotency keys past their time to live deleted by this scan (full scans only). */
  idempotencyKeysSwept?: number;
}

export function safetyNetReport(
  scan: { scannedAt: string; merchantId?: string | undefined },
  checks: CheckReport[],
  openFindings: number,
  idempotencyKeysSwept?: number,
): SafetyNetReport {
  const actions = checks.flatMap((c) => c.actions);
  const payOrdersWith = (...kinds: SafetyNetAction['action'][]) => [
    ...new Set(actions.filter((a) => kinds.includes(a.action)).map((a) => a.payOrderId)),
  ];
  return {
    scannedAt: scan.scannedAt,
    ...(scan.merchantId ? { merchantId: scan.merchantId } : {}),
    checks: checks.map(({ actions: _actions, ...counts }) => counts),
    actions,
    autoCorrected: payOrdersWith('STRAY_PAYMENT', 'WORKFLOW_STARTED'),
    flagged: payOrdersWith('FLAGGED'),
    openFindings,
    ...(idempotencyKeysSwept === undefined ? {} : { idempotencyKeysSwept }),
  };
}
