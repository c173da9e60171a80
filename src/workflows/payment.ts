// The payment workflow: one per pay order, keyed by its ID. It owns the pay order's state, serializes
// pay requests, turns channel facts into transitions, closes the order at expiry, and then keeps
// listening through the late window so a late or duplicate success is never lost.
import {
  ActivityFailure,
  ApplicationFailure,
  allHandlersFinished,
  condition,
  log,
  makeContinueAsNewFunc,
  patched,
  proxyActivities,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { PaymentActivities } from '../activities/payment';
import type { CloseAnswer } from '../channels/types';
import {
  applyChannelFact,
  closeOrder,
  decidePay,
  isOpen,
  isSettled,
  newPayOrderState,
  openAttempt,
  paidAmountOf,
  syncCanLearn,
  withOpenedAttempt,
  type Attempt,
  type ChannelFact,
  type ExtraPaymentReason,
  type PayOrderState,
  type PayRequest,
} from '../domain/payOrder';
import { newId } from '../domain/ids';
import {
  defaultMerchantNotifyRetrySeconds,
  type MerchantEventData,
  type MerchantEventType,
} from '../domain/merchantEvents';
import {
  defaultQuerySchedule,
  defaultSyncPayWaitSeconds,
  syncQueryDelaysSeconds,
  needsAttentionAfter,
  nextQueryDelaySeconds,
} from '../domain/querySchedule';
import {
  attention,
  clearAttention,
  close,
  handOver,
  nothingToSync,
  notify,
  pay,
  searchAttributes,
  status,
  sync,
  type AttemptView,
  type RefundView,
  type PassingFlag,
  type PaymentInput,
  type PayOrderView,
} from './contracts/payment';
import type { RefundRecord } from './contracts/merchantRefund';
import { startMerchantNotification } from './merchantNotification';
import { refundAtChannel } from './refund';

const channel = proxyActivities<PaymentActivities>({
  startToCloseTimeout: '20s',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumAttempts: 3 },
});
// One try per scheduled query: the schedule itself is the retry.
const queries = proxyActivities<PaymentActivities>({
  startToCloseTimeout: '15s',
  retry: { maximumAttempts: 1 },
});
const records = proxyActivities<PaymentActivities>({
  startToCloseTimeout: '10s',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1m' },
});

/** History length after which a run hands over to a new one, unless Temporal suggests it first. */
const defaultContinueAsNewAfterEvents = 5000;

export async function payment(input: PaymentInput): Promise<PayOrderView> {
  const resumed = input.resume;
  let state =
    resumed?.state ??
    newPayOrderState({
      id: input.payOrderId,
      amount: input.amount,
      currency: input.currency,
      expiresAtMs: Date.parse(input.expiresAt),
    });
  let version = resumed?.version ?? 0;
  const facts: ChannelFact[] = [...(resumed?.facts ?? [])];
  const serialized = serializer();
  const schedule = input.querySchedule ?? defaultQuerySchedule;
  /** Active queries of the current open channel order, and how many in a row learnt nothing. */
  let queriesDone = resumed?.queriesDone ?? 0;
  let failuresInARow = resumed?.failuresInARow ?? 0;
  const refundViews: RefundView[] = resumed?.refunds.map((r) => ({ ...r })) ?? [];
  /** Compensating refunds under way; the workflow does not complete before they end. */
  const compensations: Promise<void>[] = [];
  let compensating = 0;
  /** Set while the run waits for its handlers to finish before continuing as new. */
  let handingOver = false;
  /**
   * Set while the order is flagged only for a reason that passes by itself (PassingFlag): the
   * workflow clears that flag once the reason has passed, so that operators see only orders that
   * still need them. Any other reason makes the flag stay until an operator clears it.
   */
  let passingFlag: PassingFlag | undefined = resumed?.passingFlag;

  setHandler(status, () => view(state, refundViews));
  setHandler(notify, (fact) => {
    facts.push(fact);
  });
  setHandler(attention, (reason, passes) =>
    serialized(async () => {
      log.warn('an operator is asked to look at this pay order', { reason });
      if (passes === 'OPEN_PAST_EXPIRY' && patched('open-past-expiry-flag-passes')) {
        await flagUntilClosed();
      } else {
        await flagForOperator();
      }
    }),
  );
  setHandler(clearAttention, (note) =>
    serialized(async () => {
      log.info('an operator cleared the attention flag', { note });
      passingFlag = undefined;
      if (state.needsAttention) await save({ ...state, needsAttention: false });
    }),
  );
  setHandler(pay, (request) => serialized(() => handlePay(request)), {
    validator: (request: PayRequest) => {
      refuseWhileHandingOver();
      const decision = decidePay(state, request, Date.now(), input.maxChannelOrders);
      if (decision.kind === 'refuse') {
        throw ApplicationFailure.nonRetryable(decision.message, decision.code);
      }
    },
  });

  setHandler(
    sync,
    () =>
      serialized(async () => {
        await applyFacts();
        await queryOpenAttempt();
        return view(state, refundViews);
      }),
    {
      // Nothing open to ask about and nothing under way: the caller reads the books, which are
      // current, and the history stays as it is.
      validator: () => {
        refuseWhileHandingOver();
        // Work under way (a fact being applied and saved) may still change the books: wait for it.
        if (facts.length === 0 && serialized.idle() && !syncCanLearn(state)) {
          throw ApplicationFailure.nonRetryable(
            'no open channel order to ask about',
            nothingToSync,
          );
        }
      },
    },
  );
  setHandler(
    close,
    () =>
      serialized(async () => {
        await applyFacts();
        const confirmed = await closeOpenAttempts();
        if (state.status === 'SUCCEEDED') {
          throw ApplicationFailure.nonRetryable('the pay order is already paid', 'ALREADY_PAID');
        }
        if (!confirmed) throw channelUnavailable();
        await save(closeOrder(state));
        return view(state, refundViews);
      }),
    {
      validator: () => {
        refuseWhileHandingOver();
        if (state.status === 'SUCCEEDED') {
          throw ApplicationFailure.nonRetryable('the pay order is already paid', 'ALREADY_PAID');
        }
        if (state.status === 'CLOSED') {
          throw ApplicationFailure.nonRetryable('the pay order is already closed', 'ORDER_CLOSED');
        }
      },
    },
  );

  /**
   * Writes the state to the database and the search attributes; called after every change. Only
   * the channel orders that changed travel (each row keeps the newest version written to it).
   */
  async function save(next: PayOrderState) {
    const previous = state;
    const changed = next !== state;
    state = next;
    if (!changed && version > 0) return;
    version += 1;
    const { attempts, ...order } = state;
    await records.savePayOrder({
      version,
      order,
      attempts: version === 1 ? attempts : attempts.filter((a) => !previous.attempts.includes(a)),
    });
    const paidWith = state.attempts.find((a) => a.id === state.paidAttemptId);
    upsertSearchAttributes([
      { key: searchAttributes.payStatus, value: state.status },
      { key: searchAttributes.needsAttention, value: state.needsAttention },
      ...(paidWith ? [{ key: searchAttributes.payChannel, value: paidWith.channel }] : []),
    ]);
  }

  /** Flags the order for an operator for a reason that does not pass by itself. */
  async function flagForOperator() {
    passingFlag = undefined;
    if (!state.needsAttention) await save({ ...state, needsAttention: true });
  }

  /** Flags the order because the channel has not answered `failures` times in a row. */
  async function flagIfUnreachable(failures: number, what: Record<string, unknown>) {
    if (!needsAttentionAfter(schedule, failures) || state.needsAttention) return;
    log.warn('the channel does not answer; flagging for an operator', { ...what, failures });
    passingFlag = 'CHANNEL_SILENT';
    await save({ ...state, needsAttention: true });
  }

  /**
   * A safety-net scan saw a channel order open past the order's expiry: flagged until every
   * channel order is closed. Nothing is flagged if that is so already (the scan read older books).
   */
  async function flagUntilClosed() {
    if (!openAttempt(state)) {
      log.info('no channel order is open any more; nothing to flag');
      return;
    }
    if (state.needsAttention && passingFlag === undefined) return;
    passingFlag = 'OPEN_PAST_EXPIRY';
    if (!state.needsAttention) await save({ ...state, needsAttention: true });
  }

  /**
   * The channel answered: a query learnt the status (`learnt`), or every channel order is
   * confirmed closed (`closed`). A flag whose reason has passed with it is cleared.
   */
  async function channelAnswered(how: 'learnt' | 'closed') {
    if (!passingFlag || (passingFlag === 'OPEN_PAST_EXPIRY' && how === 'learnt')) return;
    if (!patched('unreachable-flag-clears')) return;
    log.info('the reason for the flag has passed; clearing it', { reason: passingFlag });
    passingFlag = undefined;
    if (state.needsAttention) await save({ ...state, needsAttention: false });
  }

  async function handlePay(request: PayRequest): Promise<{ attempt: AttemptView }> {
    await applyFacts();
    const decision = decidePay(state, request, Date.now(), input.maxChannelOrders);
    switch (decision.kind) {
      case 'refuse':
        throw ApplicationFailure.nonRetryable(decision.message, decision.code);
      case 'reuse':
        return { attempt: attemptView(decision.attempt) };
      case 'switch': {
        const closed = await closeAtChannel(decision.close);
        if (state.status === 'SUCCEEDED') {
          throw ApplicationFailure.nonRetryable('the pay order is already paid', 'ALREADY_PAID');
        }
        if (!closed) throw channelUnavailable();
        return { attempt: attemptView(await openAtChannel(request)) };
      }
      case 'open':
        return { attempt: attemptView(await openAtChannel(request)) };
      case 'wait':
        // Cannot happen under the serializer, which lets one pay request open at a time.
        throw ApplicationFailure.nonRetryable('a channel order is being opened', 'STATUS_UNKNOWN');
    }
  }

  async function openAtChannel(request: PayRequest): Promise<Attempt> {
    queriesDone = 0;
    failuresInARow = 0;
    const id = newId('att', Date.now(), Math.random);
    let attempt: Attempt = {
      id,
      outTradeNo: id.replace('att_', 'T'),
      channel: request.channel,
      method: request.method,
      amount: state.amount,
      status: 'OPENING',
      ...(request.payerId ? { payerId: request.payerId } : {}),
    };
    await save(withOpenedAttempt(state, attempt));
    let outcome: ChannelFact | undefined;
    try {
      const created = await channel.openChannelOrder({
        payOrderId: state.id,
        attemptId: attempt.id,
        channel: attempt.channel,
        order: {
          outTradeNo: attempt.outTradeNo,
          amount: state.amount,
          currency: state.currency,
          subject: input.subject,
          method: attempt.method,
          expiresAt: input.expiresAt,
          notifyUrl: `${input.webhookBaseUrl}/${attempt.channel}`,
          ...(input.returnUrl ? { returnUrl: input.returnUrl } : {}),
          ...(request.payerId ? { payerId: request.payerId } : {}),
        },
      });
      attempt = { ...attempt, status: 'PENDING', payUrl: created.payUrl };
      if (created.channelTradeNo) attempt.channelTradeNo = created.channelTradeNo;
      if (created.payParams) attempt.payParams = created.payParams;
      outcome = created.outcome;
    } catch (err) {
      // Refused outright: no channel order exists. Anything else: we cannot know, so UNKNOWN.
      const rejected =
        err instanceof ActivityFailure &&
        err.cause instanceof ApplicationFailure &&
        err.cause.type === 'CHANNEL_REJECTED';
      attempt = { ...attempt, status: rejected ? 'FAILED' : 'UNKNOWN' };
      await save(withOpenedAttempt(state, attempt));
      throw ApplicationFailure.nonRetryable(
        rejected
          ? `channel ${attempt.channel} refused the order`
          : `channel ${attempt.channel} did not answer; the order's status is unknown`,
        rejected ? 'CHANNEL_REJECTED' : 'STATUS_UNKNOWN',
      );
    }
    await save(withOpenedAttempt(state, attempt));
    return outcome ? answerSynchronously(attempt.id, outcome) : attempt;
  }

  /**
   * A synchronous channel (bank-card quick pay) answered the payment's outcome with the order.
   * One still pending is waited on for a bounded time, listening to notifications and querying
   * quickly (async made sync), then answered as it stands: the workflow carries on either way.
   */
  async function answerSynchronously(attemptId: string, outcome: ChannelFact): Promise<Attempt> {
    await applyFact(outcome);
    const current = () => state.attempts.find((a) => a.id === attemptId)!;
    const deadline = Date.now() + (input.syncPayWaitSeconds ?? defaultSyncPayWaitSeconds) * 1000;
    for (const delay of syncQueryDelaysSeconds) {
      const wait = Math.min(delay * 1000, deadline - Date.now());
      if (current().status !== 'PENDING' || wait <= 0) break;
      await condition(() => facts.length > 0, wait);
      await applyFacts();
      if (current().status !== 'PENDING') break;
      const { channel: name, outTradeNo, method } = current();
      try {
        await applyFact(await queries.queryChannelOrder({ channel: name, outTradeNo, method }));
      } catch (err) {
        log.warn('quick query failed while waiting for a payment', {
          outTradeNo,
          error: String(err),
        });
      }
    }
    const attempt = current();
    if (attempt.status === 'CLOSED') {
      throw ApplicationFailure.nonRetryable(
        `channel ${attempt.channel} declined the payment`,
        'PAYMENT_DECLINED',
      );
    }
    return attempt;
  }

  /**
   * Closes one channel order; a close refused because it is paid is that payment's news.
   * Answers false when the channel could not be reached.
   */
  async function closeAtChannel(attempt: Attempt): Promise<boolean> {
    let answer: CloseAnswer;
    try {
      answer = await channel.closeChannelOrder({
        channel: attempt.channel,
        outTradeNo: attempt.outTradeNo,
      });
    } catch (err) {
      // Unconfirmed, the channel order stays open: a payment may still land on it.
      log.warn('could not close channel order', {
        outTradeNo: attempt.outTradeNo,
        error: String(err),
      });
      return false;
    }
    const fact: ChannelFact =
      answer.kind === 'closed'
        ? { outTradeNo: attempt.outTradeNo, status: 'CLOSED', source: 'close' }
        : answer.fact;
    await applyFact(fact);
    return true;
  }

  /** Closes every open channel order; answers whether the channel confirmed each close. */
  async function closeOpenAttempts(): Promise<boolean> {
    let confirmed = true;
    for (const open of state.attempts.filter(isOpen)) {
      confirmed = (await closeAtChannel(open)) && confirmed;
    }
    return confirmed;
  }

  function channelUnavailable(): ApplicationFailure {
    return ApplicationFailure.nonRetryable(
      'the channel could not confirm closing the open channel order; try again',
      'CHANNEL_UNAVAILABLE',
    );
  }

  async function applyFact(fact: ChannelFact) {
    const { state: next, outcome } = applyChannelFact(state, fact);
    if (outcome.kind === 'ignored') {
      log.info('channel fact ignored', { outTradeNo: fact.outTradeNo, reason: outcome.reason });
      return;
    }
    log.info('channel fact applied', { outTradeNo: fact.outTradeNo, outcome: outcome.kind });
    let settled = next;
    if (outcome.kind === 'extraPayment') {
      if (patched('compensating-refund')) {
        const paid = next.attempts.find((a) => a.id === outcome.attemptId)!;
        startCompensation(paid, outcome.reason);
      } else {
        settled = { ...next, needsAttention: true };
      }
    }
    if (outcome.kind === 'amountMismatch') {
      // A success of another amount: the payer never meant to pay it, so it goes back.
      const mismatched = next.attempts.find((a) => a.id === outcome.attemptId)!;
      if (mismatched.status === 'AMOUNT_MISMATCH' && patched('amount-mismatch-refund')) {
        startCompensation(mismatched, 'AMOUNT_MISMATCH');
      } else {
        settled = outcome.flagged;
      }
    }
    await save(settled);
    if (outcome.kind === 'paid') {
      // Best effort now; any the channel does not confirm is closed again at expiry.
      await closeOpenAttempts();
    }
  }

  /** Starts the delivery of one merchant event; it runs on after this workflow completes. */
  async function tellMerchant(type: MerchantEventType, refund?: MerchantEventData['refund']) {
    await startMerchantNotification(
      type,
      {
        payOrderId: state.id,
        merchantOrderNo: input.merchantOrderNo,
        status: state.status,
        amount: state.amount,
        currency: state.currency,
        ...(refund ? { refund } : {}),
      },
      input.merchantNotifyRetrySeconds ?? defaultMerchantNotifyRetrySeconds,
    );
  }

  /** Asks the channel about the open channel order; a query that learns nothing is counted. */
  async function queryOpenAttempt() {
    const open = openAttempt(state);
    if (!open || open.status === 'OPENING') return;
    queriesDone += 1;
    let learnt = false;
    try {
      const fact = await queries.queryChannelOrder({
        channel: open.channel,
        outTradeNo: open.outTradeNo,
        method: open.method,
      });
      learnt = !(fact.status === 'NOT_FOUND' && open.status === 'PENDING');
      await applyFact(fact);
    } catch (err) {
      log.warn('channel query failed', { outTradeNo: open.outTradeNo, error: String(err) });
    }
    failuresInARow = learnt ? 0 : failuresInARow + 1;
    if (learnt) await channelAnswered('learnt');
    else await flagIfUnreachable(failuresInARow, { outTradeNo: open.outTradeNo, at: 'query' });
  }

  function startCompensation(attempt: Attempt, reason: ExtraPaymentReason) {
    compensating += 1;
    compensations.push(compensate(attempt, reason).finally(() => (compensating -= 1)));
  }

  /**
   * Money arrived that the order does not need: refund it at the channel, with our refund ID as
   * the channel's idempotency key, and follow the refund to a final status.
   */
  async function compensate(attempt: Attempt, reason: ExtraPaymentReason) {
    const amount = paidAmountOf(attempt) ?? attempt.amount;
    const ref = {
      channel: attempt.channel,
      outTradeNo: attempt.outTradeNo,
      refundNo: newId('rf', Date.now(), Math.random),
    };
    const record: RefundRecord = {
      id: ref.refundNo,
      payOrderId: state.id,
      merchantId: input.merchantId,
      attemptId: attempt.id,
      amount,
      currency: state.currency,
      reason,
      status: 'PROCESSING',
    };
    const shown: RefundView = {
      id: record.id,
      amount: record.amount,
      reason,
      status: 'PROCESSING',
    };
    refundViews.push(shown);
    await records.saveRefund(record);
    log.warn('compensating refund', {
      outTradeNo: attempt.outTradeNo,
      reason,
      refundId: record.id,
    });
    const status = await refundAtChannel(ref, amount, schedule);
    shown.status = status;
    await records.saveRefund({ ...record, status });
    if (status === 'FAILED') await serialized(flagForOperator);
    if (status === 'SUCCEEDED' && patched('merchant-notification')) {
      await tellMerchant('pay_order.refunded', {
        id: record.id,
        amount: record.amount,
        reason,
        status,
      });
    }
  }

  async function applyFacts() {
    while (facts.length > 0) await applyFact(facts.shift()!);
  }

  /**
   * Closes every open channel order, retrying on the query schedule while the channel cannot
   * confirm, without holding the serializer between tries (sync, close and attention go on).
   * Stops early once `done()` holds.
   */
  async function closeEveryOpenChannelOrder(done: () => boolean) {
    for (let failures = 1; ; failures++) {
      const confirmed = await serialized(async () => {
        await applyFacts();
        return done() || (await closeOpenAttempts());
      });
      // The serializer is entered only to change something, so that the run's commands stay
      // in the order of runs recorded before these flags.
      if (confirmed && passingFlag && !openAttempt(state)) {
        await serialized(() => channelAnswered('closed'));
      }
      if (confirmed || done()) return;
      if (needsAttentionAfter(schedule, failures) && !state.needsAttention) {
        await serialized(() => flagIfUnreachable(failures, { at: 'close' }));
      }
      const delay = nextQueryDelaySeconds(schedule, failures - 1, failures);
      await condition(() => facts.length > 0 || !openAttempt(state), delay * 1000);
    }
  }

  /** New Updates wait for the next run (the caller retries) so that this one can end. */
  function refuseWhileHandingOver() {
    if (handingOver) {
      throw ApplicationFailure.nonRetryable(
        'the pay order moves to a new run; try again',
        handOver,
      );
    }
  }

  /** Whether this run's history is long enough to hand over to a new run. */
  function historyIsLong(): boolean {
    const info = workflowInfo();
    const bound = input.continueAsNewAfterEvents ?? defaultContinueAsNewAfterEvents;
    return info.continueAsNewSuggested || info.historyLength >= bound;
  }

  /**
   * Continues as a new run carrying the state, once no handler is running. Answers only if the
   * order settled meanwhile (the run then carries on to its end).
   */
  async function continueAsNewWhenQuiet(): Promise<void> {
    handingOver = true;
    await condition(allHandlersFinished);
    handingOver = false;
    if (isSettled(state) || compensating > 0) return;
    log.info('history is long; continuing as new', { historyLength: workflowInfo().historyLength });
    await makeContinueAsNewFunc<typeof payment>({
      // The operator's view in the Temporal UI carries over to the new run.
      typedSearchAttributes: workflowInfo().typedSearchAttributes,
    })({
      ...input,
      resume: {
        state,
        version,
        queriesDone,
        failuresInARow,
        passingFlag,
        refunds: refundViews,
        facts: [...facts],
      },
    });
  }

  if (!resumed) await save(state);

  // Open: until paid, closed, or expired; an open channel order is queried on the schedule.
  const queryFallback = patched('query-fallback');
  const mayContinueAsNew = patched('continue-as-new');
  while (!isSettled(state)) {
    if (mayContinueAsNew && historyIsLong()) {
      await continueAsNewWhenQuiet();
      continue;
    }
    const untilExpiry = state.expiresAtMs - Date.now();
    if (untilExpiry <= 0) break;
    const open = openAttempt(state);
    const untilQuery =
      queryFallback && open
        ? nextQueryDelaySeconds(schedule, queriesDone, failuresInARow) * 1000
        : Infinity;
    const woken = await condition(
      () =>
        facts.length > 0 ||
        isSettled(state) ||
        (queryFallback && openAttempt(state)?.id !== open?.id) ||
        (mayContinueAsNew && historyIsLong()),
      Math.min(untilExpiry, untilQuery),
    );
    await serialized(applyFacts);
    if (!woken && untilQuery < untilExpiry) await serialized(queryOpenAttempt);
  }
  if (patched('close-without-holding')) {
    // Expired: the order closes only once the channel confirms every channel order is closed;
    // a close that reveals a payment settles it instead.
    const paid = () => state.status === 'SUCCEEDED';
    if (!paid()) await closeEveryOpenChannelOrder(paid);
    await serialized(async () => {
      await applyFacts();
      await save(closeOrder(state));
    });
    await tellMerchant(paid() ? 'pay_order.succeeded' : 'pay_order.closed');
    // A paid order is announced first; a channel order left open beside it is closed after.
    await closeEveryOpenChannelOrder(() => false);
  } else {
    await serialized(async () => {
      await applyFacts();
      // Expired: the order closes only once the channel confirms every channel order is closed.
      for (let failures = 1; !(await closeOpenAttempts()); failures++) {
        if (needsAttentionAfter(schedule, failures) && !state.needsAttention) {
          await save({ ...state, needsAttention: true });
        }
        const delay = nextQueryDelaySeconds(schedule, failures - 1, failures);
        await condition(() => facts.length > 0, delay * 1000);
        await applyFacts();
      }
      await save(closeOrder(state));
    });
    if (patched('merchant-notification')) {
      await tellMerchant(state.status === 'SUCCEEDED' ? 'pay_order.succeeded' : 'pay_order.closed');
    }
  }

  // Late window: a success that arrives now is still applied (and flagged), never dropped.
  const lateUntil = Date.now() + input.lateWindowSeconds * 1000;
  while (Date.now() < lateUntil) {
    await condition(() => facts.length > 0, lateUntil - Date.now());
    await serialized(applyFacts);
  }
  if (patched('late-facts-applied')) {
    // Compensating refunds may outlast the late window: every fact that reaches this run until
    // it completes is applied (a success then is refunded like any other), never dropped.
    for (;;) {
      await condition(() => facts.length > 0 || (compensating === 0 && allHandlersFinished()));
      if (facts.length === 0) break;
      await serialized(applyFacts);
    }
  } else {
    await Promise.all(compensations);
    await condition(allHandlersFinished);
  }
  return view(state, refundViews);
}

/**
 * Runs tasks one at a time, in arrival order (workflow code is single-threaded but async).
 * `idle()` says whether none is queued or running.
 */
function serializer() {
  let tail: Promise<unknown> = Promise.resolve();
  let queued = 0;
  const done = () => {
    queued -= 1;
  };
  const serialized = <T>(task: () => Promise<T>): Promise<T> => {
    queued += 1;
    const run = tail.then(task, task);
    tail = run.catch(() => undefined);
    run.then(done, done);
    return run;
  };
  return Object.assign(serialized, { idle: () => queued === 0 });
}

function attemptView(a: Attempt): AttemptView {
  return {
    id: a.id,
    outTradeNo: a.outTradeNo,
    channel: a.channel,
    method: a.method,
    status: a.status,
    ...(a.payUrl ? { payUrl: a.payUrl } : {}),
    ...(a.payParams ? { payParams: a.payParams } : {}),
  };
}

function view(state: PayOrderState, refunds: RefundView[]): PayOrderView {
  return {
    refunds: refunds.map((r) => ({ ...r })),
    id: state.id,
    status: state.status,
    needsAttention: state.needsAttention,
    amount: state.amount,
    currency: state.currency,
    attempts: state.attempts.map(attemptView),
  };
}
