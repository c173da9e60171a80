// The pay-order state machine: every channel fact (notification, query answer, close answer)
// and every pay request is decided here, by pure functions the workflow calls.
import type { Currency } from './money';

export const payStatuses = ['CREATED', 'PAYING', 'SUCCEEDED', 'CLOSED'] as const;
export type PayStatus = (typeof payStatuses)[number];

/**
 * OPENING: we are asking the channel to create its order.
 * PENDING: the channel order exists and waits for the payer.
 * UNKNOWN: we could not learn whether the channel created it (timeout, channel error).
 * FAILED: the channel refused to create it.
 */
export const attemptStatuses = [
  'OPENING',
  'PENDING',
  'UNKNOWN',
  'SUCCEEDED',
  'CLOSED',
  'FAILED',
] as const;
export type AttemptStatus = (typeof attemptStatuses)[number];

export type ExtraPaymentReason = 'DUPLICATE_PAYMENT' | 'LATE_PAYMENT';

export interface Attempt {
  id: string;
  outTradeNo: string;
  channel: string;
  method: string;
  amount: number;
  status: AttemptStatus;
  payUrl?: string;
  /** What the payer's client needs to pay in-app (WeChat JSAPI's signed parameters). */
  payParams?: Record<string, string>;
  payerId?: string;
  channelTradeNo?: string;
}

export interface PayOrderState {
  id: string;
  amount: number;
  currency: Currency;
  status: PayStatus;
  needsAttention: boolean;
  expiresAtMs: number;
  attempts: Attempt[];
  paidAttemptId?: string;
}

/** What a channel says about one of its orders, from whichever source. */
export interface ChannelFact {
  outTradeNo: string;
  status: 'PENDING' | 'SUCCEEDED' | 'CLOSED' | 'NOT_FOUND';
  amount?: number;
  channelTradeNo?: string;
  /** `statement`: the channel's daily statement books it (found by reconciliation). */
  source: 'notify' | 'query' | 'close' | 'statement';
}

export type FactOutcome =
  | { kind: 'ignored'; reason: string }
  | { kind: 'attemptPending'; attemptId: string }
  | { kind: 'attemptClosed'; attemptId: string }
  | { kind: 'paid'; attemptId: string }
  | { kind: 'extraPayment'; attemptId: string; reason: ExtraPaymentReason }
  | { kind: 'amountMismatch'; attemptId: string; expected: number; reported: number };

export function newPayOrderState(input: {
  id: string;
  amount: number;
  currency: Currency;
  expiresAtMs: number;
}): PayOrderState {
  return { ...input, status: 'CREATED', needsAttention: false, attempts: [] };
}

export const openStatuses: readonly AttemptStatus[] = ['OPENING', 'PENDING', 'UNKNOWN'];

export function isOpen(attempt: Attempt): boolean {
  return openStatuses.includes(attempt.status);
}

export function openAttempt(state: PayOrderState): Attempt | undefined {
  return state.attempts.find(isOpen);
}

export function findAttempt(state: PayOrderState, outTradeNo: string): Attempt | undefined {
  return state.attempts.find((a) => a.outTradeNo === outTradeNo);
}

export function isSettled(state: PayOrderState): boolean {
  return state.status === 'SUCCEEDED' || state.status === 'CLOSED';
}

function withAttempt(state: PayOrderState, attempt: Attempt): PayOrderState {
  return { ...state, attempts: state.attempts.map((a) => (a.id === attempt.id ? attempt : a)) };
}

/**
 * A paid channel order learns nothing from any fact (success is final): the notification inbox
 * acknowledges such a notification without troubling the workflow, which would ignore it.
 */
export function learnsNothing(attempt: Pick<Attempt, 'status'>): boolean {
  return attempt.status === 'SUCCEEDED';
}

/** Applies one channel fact. Facts are idempotent and may arrive in any order; success is final. */
export function applyChannelFact(
  state: PayOrderState,
  fact: ChannelFact,
): { state: PayOrderState; outcome: FactOutcome } {
  const attempt = findAttempt(state, fact.outTradeNo);
  if (!attempt) return { state, outcome: { kind: 'ignored', reason: 'unknown channel order' } };

  switch (fact.status) {
    case 'SUCCEEDED': {
      if (learnsNothing(attempt)) {
        return { state, outcome: { kind: 'ignored', reason: 'success already applied' } };
      }
      if (fact.amount !== attempt.amount) {
        // Never mark paid on a different (or unreported) amount: an operator decides.
        return {
          state: { ...state, needsAttention: true },
          outcome: {
            kind: 'amountMismatch',
            attemptId: attempt.id,
            expected: attempt.amount,
            reported: fact.amount ?? 0,
          },
        };
      }
      const paid: Attempt = {
        ...attempt,
        status: 'SUCCEEDED',
        channelTradeNo: fact.channelTradeNo ?? attempt.channelTradeNo,
      };
      const next = withAttempt(state, paid);
      if (state.status === 'SUCCEEDED' || state.status === 'CLOSED') {
        const reason = state.status === 'SUCCEEDED' ? 'DUPLICATE_PAYMENT' : 'LATE_PAYMENT';
        return { state: next, outcome: { kind: 'extraPayment', attemptId: attempt.id, reason } };
      }
      return {
        state: { ...next, status: 'SUCCEEDED', paidAttemptId: attempt.id },
        outcome: { kind: 'paid', attemptId: attempt.id },
      };
    }
    case 'CLOSED': {
      if (!isOpen(attempt) && attempt.status !== 'FAILED') {
        return { state, outcome: { kind: 'ignored', reason: `attempt already ${attempt.status}` } };
      }
      return {
        state: withAttempt(state, { ...attempt, status: 'CLOSED' }),
        outcome: { kind: 'attemptClosed', attemptId: attempt.id },
      };
    }
    case 'PENDING': {
      if (attempt.status !== 'UNKNOWN' && attempt.status !== 'OPENING') {
        return { state, outcome: { kind: 'ignored', reason: `attempt already ${attempt.status}` } };
      }
      return {
        state: withAttempt(state, { ...attempt, status: 'PENDING' }),
        outcome: { kind: 'attemptPending', attemptId: attempt.id },
      };
    }
    case 'NOT_FOUND': {
      // Only a query can say this; the channel holds no order, so nothing can be paid on it.
      if (attempt.status !== 'UNKNOWN') {
        return { state, outcome: { kind: 'ignored', reason: 'channel order not found' } };
      }
      return {
        state: withAttempt(state, { ...attempt, status: 'CLOSED' }),
        outcome: { kind: 'attemptClosed', attemptId: attempt.id },
      };
    }
  }
}

export interface PayRequest {
  channel: string;
  method: string;
  /** The payer at the channel, for methods that pay as a known user (WeChat JSAPI's openid). */
  payerId?: string;
}

export type PayRefusal = 'ALREADY_PAID' | 'ORDER_CLOSED' | 'STATUS_UNKNOWN';

export type PayDecision =
  | { kind: 'refuse'; code: PayRefusal; message: string }
  | { kind: 'reuse'; attempt: Attempt }
  | { kind: 'open' }
  | { kind: 'switch'; close: Attempt }
  /** Another pay request is creating a channel order right now; decide once it is done. */
  | { kind: 'wait'; attempt: Attempt };

/** Decides what a pay request may do: at most one open channel order per pay order. */
export function decidePay(state: PayOrderState, request: PayRequest, nowMs: number): PayDecision {
  if (state.status === 'SUCCEEDED') {
    return { kind: 'refuse', code: 'ALREADY_PAID', message: 'the pay order is already paid' };
  }
  if (state.status === 'CLOSED' || nowMs >= state.expiresAtMs) {
    return { kind: 'refuse', code: 'ORDER_CLOSED', message: 'the pay order is closed or expired' };
  }
  const open = openAttempt(state);
  if (!open) return { kind: 'open' };
  if (open.status === 'OPENING') return { kind: 'wait', attempt: open };
  if (open.status !== 'PENDING') {
    return {
      kind: 'refuse',
      code: 'STATUS_UNKNOWN',
      message: `the status of channel order ${open.outTradeNo} is unknown; sync or close the pay order first`,
    };
  }
  const samePayer = open.payerId === request.payerId;
  if (open.channel === request.channel && open.method === request.method && samePayer) {
    return { kind: 'reuse', attempt: open };
  }
  return { kind: 'switch', close: open };
}

export function withOpenedAttempt(state: PayOrderState, attempt: Attempt): PayOrderState {
  const attempts = state.attempts.some((a) => a.id === attempt.id)
    ? state.attempts.map((a) => (a.id === attempt.id ? attempt : a))
    : [...state.attempts, attempt];
  return { ...state, status: state.status === 'CREATED' ? 'PAYING' : state.status, attempts };
}

/** Closes the order at expiry or on the merchant's request; a paid order stays paid. */
export function closeOrder(state: PayOrderState): PayOrderState {
  if (isSettled(state)) return state;
  return { ...state, status: 'CLOSED' };
}
