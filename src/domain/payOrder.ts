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
 * AMOUNT_MISMATCH: the payer paid another amount than asked (`paidAmount`); final, and refunded.
 */
export const attemptStatuses = [
  'OPENING',
  'PENDING',
  'UNKNOWN',
  'SUCCEEDED',
  'CLOSED',
  'FAILED',
  'AMOUNT_MISMATCH',
] as const;
export type AttemptStatus = (typeof attemptStatuses)[number];

/** Why money the order does not need goes back to the payer. */
export const extraPaymentReasons = [
  'DUPLICATE_PAYMENT',
  'LATE_PAYMENT',
  'AMOUNT_MISMATCH',
] as const;
export type ExtraPaymentReason = (typeof extraPaymentReasons)[number];

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
  /** What the payer actually paid, when it is not `amount` (status AMOUNT_MISMATCH). */
  paidAmount?: number;
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
  /** The channel's own code for a declined payment (status CLOSED), where it gave one. */
  declineCode?: string;
  /** `statement`: the channel's daily statement books it (found by reconciliation). */
  source: 'notify' | 'query' | 'close' | 'statement';
}

export type FactOutcome =
  | { kind: 'ignored'; reason: string }
  | { kind: 'attemptPending'; attemptId: string }
  | { kind: 'attemptClosed'; attemptId: string }
  | { kind: 'paid'; attemptId: string }
  | { kind: 'extraPayment'; attemptId: string; reason: ExtraPaymentReason }
  /**
   * A success of another amount: final for that channel order, whose money goes back. `flagged`
   * is the older rule's state (flag only, the channel order left open), for workflows that
   * started before the refund existed.
   */
  | {
      kind: 'amountMismatch';
      attemptId: string;
      expected: number;
      reported: number;
      flagged: PayOrderState;
    };

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
 * A paid channel order learns nothing from any fact (success is final, also a success of another
 * amount): the notification inbox acknowledges such a notification without troubling the
 * workflow, which would ignore it.
 */
export function learnsNothing(attempt: Pick<Attempt, 'status'>): boolean {
  return paidStatuses.includes(attempt.status);
}

/** Statuses of a channel order the payer paid (another amount than asked included). */
export const paidStatuses: readonly AttemptStatus[] = ['SUCCEEDED', 'AMOUNT_MISMATCH'];

/**
 * Where a channel order may go from each status: opened (OPENING) it becomes PENDING, UNKNOWN or
 * FAILED, and a fact moves it on (applyChannelFact); nothing ever moves it back.
 */
export const laterStatuses: Readonly<Record<AttemptStatus, readonly AttemptStatus[]>> = {
  OPENING: ['PENDING', 'UNKNOWN', 'FAILED', 'SUCCEEDED', 'CLOSED', 'AMOUNT_MISMATCH'],
  UNKNOWN: ['PENDING', 'SUCCEEDED', 'CLOSED', 'AMOUNT_MISMATCH'],
  PENDING: ['SUCCEEDED', 'CLOSED', 'AMOUNT_MISMATCH'],
  FAILED: ['SUCCEEDED', 'CLOSED', 'AMOUNT_MISMATCH'],
  CLOSED: ['SUCCEEDED', 'AMOUNT_MISMATCH'],
  SUCCEEDED: [],
  AMOUNT_MISMATCH: [],
};

/**
 * Whether a fact about a channel order the books hold as `status` can change nothing: the
 * workflow would ignore it in that status and in every later one. The books trail the workflow
 * (it writes them after each change) but a channel order never moves back, so the notification
 * inbox may acknowledge such a fact from the books alone, without a signal: a repeat of a
 * success, a "waiting for the payer" for a channel order already open, a close of a closed one.
 */
export function factChangesNothing(status: AttemptStatus, fact: ChannelFact): boolean {
  return [status, ...laterStatuses[status]].every((now) => {
    const attempt: Attempt = {
      id: 'att',
      outTradeNo: fact.outTradeNo,
      channel: '',
      method: '',
      amount: fact.amount ?? 0,
      status: now,
    };
    const order: PayOrderState = {
      ...newPayOrderState({ id: 'po', amount: attempt.amount, currency: 'CNY', expiresAtMs: 0 }),
      attempts: [attempt],
    };
    return applyChannelFact(order, fact).outcome.kind === 'ignored';
  });
}

/** statusesUnchangedBy's answers, by the fact's status. */
const unchangedByFactStatus = new Map<ChannelFact['status'], readonly AttemptStatus[]>();

/**
 * The statuses of a channel order in which the books can tell that `fact` changes nothing. Whether
 * applyChannelFact ignores a fact turns on the fact's status and the channel order's alone, not on
 * its amount, trade number, decline code or source, so the answer is worked out once for each
 * fact status (the inbox asks for every notification it stores); a unit test holds the two
 * together over every field of a fact.
 */
export function statusesUnchangedBy(fact: ChannelFact): readonly AttemptStatus[] {
  let statuses = unchangedByFactStatus.get(fact.status);
  if (!statuses) {
    statuses = attemptStatuses.filter((status) => factChangesNothing(status, fact));
    unchangedByFactStatus.set(fact.status, statuses);
  }
  return statuses;
}

/** The money the channel took on this channel order, if the payer paid it. */
export function paidAmountOf(attempt: Attempt): number | undefined {
  if (attempt.status === 'SUCCEEDED') return attempt.paidAmount ?? attempt.amount;
  if (attempt.status === 'AMOUNT_MISMATCH') return attempt.paidAmount;
  return undefined;
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
        // Never mark paid on a different (or unreported) amount. A reported other amount is
        // final for this channel order: it is never open again and its money goes back.
        const flagged = { ...state, needsAttention: true };
        const mismatched =
          fact.amount === undefined
            ? flagged
            : withAttempt(flagged, {
                ...attempt,
                status: 'AMOUNT_MISMATCH',
                paidAmount: fact.amount,
                channelTradeNo: fact.channelTradeNo ?? attempt.channelTradeNo,
              });
        return {
          state: mismatched,
          outcome: {
            kind: 'amountMismatch',
            attemptId: attempt.id,
            expected: attempt.amount,
            reported: fact.amount ?? 0,
            flagged,
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
  /** Where the channel sends the payer back from its page; the order's returnUrl when omitted. */
  returnUrl?: string;
}

export type PayRefusal =
  'ALREADY_PAID' | 'ORDER_CLOSED' | 'STATUS_UNKNOWN' | 'TOO_MANY_CHANNEL_ORDERS';

/** How many channel orders one pay order may open, switches included (configuration). */
export const defaultMaxChannelOrders = 20;

export type PayDecision =
  | { kind: 'refuse'; code: PayRefusal; message: string }
  | { kind: 'reuse'; attempt: Attempt }
  | { kind: 'open' }
  | { kind: 'switch'; close: Attempt }
  /** Another pay request is creating a channel order right now; decide once it is done. */
  | { kind: 'wait'; attempt: Attempt };

/**
 * Decides what a pay request may do: at most one open channel order per pay order, and at most
 * `maxChannelOrders` channel orders in all (none for workflows started before the cap existed).
 */
export function decidePay(
  state: PayOrderState,
  request: PayRequest,
  nowMs: number,
  maxChannelOrders = Infinity,
): PayDecision {
  const decision = decideChannelOrder(state, request, nowMs);
  if (
    (decision.kind === 'open' || decision.kind === 'switch') &&
    !(state.attempts.length < maxChannelOrders)
  ) {
    return {
      kind: 'refuse',
      code: 'TOO_MANY_CHANNEL_ORDERS',
      message: `the pay order has opened ${state.attempts.length} channel orders, the most it may`,
    };
  }
  return decision;
}

function decideChannelOrder(state: PayOrderState, request: PayRequest, nowMs: number): PayDecision {
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

/** What a channel order the channel created is paid with (adapters answer a ChannelOrderCreated). */
export interface ChannelOrderOpened {
  /** Where the payer pays (page URL, QR code content); absent for channels that charge directly. */
  payUrl?: string;
  /** What the payer's client needs to pay in-app (WeChat Pay JSAPI's signed parameters). */
  payParams?: Record<string, string>;
  channelTradeNo?: string;
}

/** The channel created the channel order: it waits for the payer, with what they pay with. */
export function openedAttempt(attempt: Attempt, created: ChannelOrderOpened): Attempt {
  const opened: Attempt = { ...attempt, status: 'PENDING', payUrl: created.payUrl };
  if (created.channelTradeNo) opened.channelTradeNo = created.channelTradeNo;
  if (created.payParams) opened.payParams = created.payParams;
  return opened;
}

/** Closes the order at expiry or on the merchant's request; a paid order stays paid. */
export function closeOrder(state: PayOrderState): PayOrderState {
  if (isSettled(state)) return state;
  return { ...state, status: 'CLOSED' };
}

/** Whether asking the channel now ("sync") can change anything: only an open channel order can. */
export function syncCanLearn(state: PayOrderState): boolean {
  const open = openAttempt(state);
  return open !== undefined && open.status !== 'OPENING';
}
