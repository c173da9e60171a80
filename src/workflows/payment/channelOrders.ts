// What a payment run asks of the channel: open a channel order to pay with (or reuse or switch
// the open one), wait briefly on a synchronous channel, query the open one, close them.
import {
  ActivityFailure,
  ApplicationFailure,
  condition,
  log,
  proxyActivities,
} from '@temporalio/workflow';
import type { ChannelCallActivities } from '../../activities/channelCalls';
import type { ChannelOrderOpeningActivities } from '../../activities/channelOrderOpening';
import type { PayOrderChange } from '../../activities/payOrderRecords';
import type { CloseAnswer } from '../../channels/types';
import {
  decidePay,
  isOpen,
  openAttempt,
  openedAttempt,
  withOpenedAttempt,
  type Attempt,
  type ChannelFact,
  type PayOrderState,
  type PayRequest,
} from '../../domain/payOrder';
import { newId, outTradeNoFor } from '../../domain/ids';
import {
  defaultSyncPayWaitSeconds,
  needsAttentionAfter,
  nextQueryWaitMs,
  syncQueryDelaysSeconds,
  type QuerySchedule,
} from '../../domain/querySchedule';
import type { AttemptView, PassingFlag, PayAnswer, PaymentInput } from '../contracts/payment';

/**
 * What the channel orders use of a pay order's run; `PayOrderRun` (./run.ts) implements it. It is
 * declared here, not imported, because the run closes its channel orders with this module: the two
 * would import each other.
 */
export interface ChannelOrderRun {
  readonly input: PaymentInput;
  readonly state: PayOrderState;
  /** Channel facts received and not yet applied. */
  readonly facts: ChannelFact[];
  readonly schedule: QuerySchedule;
  /** Runs a task that changes the order after the ones already queued. */
  readonly serialized: <T>(task: () => Promise<T>) => Promise<T>;
  queriesDone: number;
  failuresInARow: number;
  readonly passingFlag: PassingFlag | undefined;
  save(next: PayOrderState): Promise<void>;
  changeTo(next: PayOrderState): PayOrderChange | undefined;
  written(next: PayOrderState, version: number): void;
  takes(patch: string): boolean;
  applyFact(fact: ChannelFact, context?: FactContext): Promise<void>;
  applyFacts(): Promise<void>;
  channelAnswered(how: 'learnt' | 'closed'): Promise<void>;
  flagIfUnreachable(failures: number, what: Record<string, unknown>): Promise<void>;
}

/**
 * How a run learnt a channel fact: `told` (a notification, a statement, the answer of the call
 * that opened the channel order) or `asked` (it queried or closed the open channel order: a
 * success learnt so is one the notifications missed).
 */
export type FactContext = 'told' | 'asked';

const channel = proxyActivities<ChannelCallActivities & ChannelOrderOpeningActivities>({
  startToCloseTimeout: '20s',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumAttempts: 3 },
});
// One try per scheduled query: the schedule itself is the retry.
const queries = proxyActivities<ChannelCallActivities>({
  startToCloseTimeout: '15s',
  retry: { maximumAttempts: 1 },
});

/** A pay request, under the serializer: the open channel order again, or a new one. */
export async function channelOrderFor(
  run: ChannelOrderRun,
  request: PayRequest,
): Promise<PayAnswer> {
  await run.applyFacts();
  const decision = decidePay(run.state, request, Date.now(), run.input.maxChannelOrders);
  switch (decision.kind) {
    case 'refuse':
      throw ApplicationFailure.nonRetryable(decision.message, decision.code);
    case 'reuse':
      return { attempt: attemptView(decision.attempt) };
    case 'switch': {
      const closed = await closeAtChannel(run, decision.close);
      if (run.state.status === 'SUCCEEDED') throw alreadyPaid();
      if (!closed) throw channelUnavailable();
      return { attempt: attemptView(await openAtChannel(run, request)) };
    }
    case 'open':
      return { attempt: attemptView(await openAtChannel(run, request)) };
    case 'wait':
      // Cannot happen under the serializer, which lets one pay request open at a time.
      throw ApplicationFailure.nonRetryable('a channel order is being opened', 'STATUS_UNKNOWN');
  }
}

async function openAtChannel(run: ChannelOrderRun, request: PayRequest): Promise<Attempt> {
  run.queriesDone = 0;
  run.failuresInARow = 0;
  const { input } = run;
  const id = newId('att', Date.now(), Math.random);
  let attempt: Attempt = {
    id,
    outTradeNo: outTradeNoFor(id),
    channel: request.channel,
    method: request.method,
    amount: run.state.amount,
    status: 'OPENING',
    ...(request.payerId ? { payerId: request.payerId } : {}),
  };
  const returnUrl = request.returnUrl ?? input.returnUrl;
  const open = {
    payOrderId: run.state.id,
    attemptId: attempt.id,
    channel: attempt.channel,
    order: {
      outTradeNo: attempt.outTradeNo,
      amount: run.state.amount,
      currency: run.state.currency,
      subject: input.subject,
      method: attempt.method,
      expiresAt: input.expiresAt,
      notifyUrl: `${input.webhookBaseUrl}/${attempt.channel}`,
      ...(returnUrl ? { returnUrl } : {}),
      ...(request.payerId ? { payerId: request.payerId } : {}),
    },
  };
  // Runs since `open-between-saves` save on both sides of the call in the call's own activity.
  const betweenSaves = run.takes('open-between-saves');
  const opening = withOpenedAttempt(run.state, attempt);
  const openingChange = betweenSaves ? run.changeTo(opening) : undefined;
  if (openingChange) run.written(opening, openingChange.version);
  else await run.save(opening);
  let outcome: ChannelFact | undefined;
  try {
    const created = openingChange
      ? await channel.openChannelOrderBetweenSaves.executeWithOptions(
          { summary: `open ${attempt.channel} ${attempt.method} ${attempt.outTradeNo}` },
          [{ opening: openingChange, open }],
        )
      : await channel.openChannelOrder(open);
    attempt = openedAttempt(attempt, created);
    outcome = created.outcome;
  } catch (err) {
    // Refused outright: no channel order exists. Anything else: we cannot know, so UNKNOWN.
    const refusal =
      err instanceof ActivityFailure &&
      err.cause instanceof ApplicationFailure &&
      err.cause.type === 'CHANNEL_REJECTED'
        ? err.cause
        : undefined;
    attempt = { ...attempt, status: refusal ? 'FAILED' : 'UNKNOWN' };
    await run.save(withOpenedAttempt(run.state, attempt));
    throw refusal
      ? ApplicationFailure.create({
          message: `channel ${attempt.channel} refused the order`,
          type: 'CHANNEL_REJECTED',
          nonRetryable: true,
          details: refusal.details?.slice(0, 1),
        })
      : ApplicationFailure.nonRetryable(
          `channel ${attempt.channel} did not answer; the order's status is unknown`,
          'STATUS_UNKNOWN',
        );
  }
  const opened = withOpenedAttempt(run.state, attempt);
  if (openingChange) run.written(opened, openingChange.version + 1);
  else await run.save(opened);
  return outcome ? answerSynchronously(run, attempt.id, outcome) : attempt;
}

/**
 * A synchronous channel (bank-card quick pay) answered the payment's outcome with the order.
 * One still pending is waited on for a bounded time, listening to notifications and querying
 * quickly (async made sync), then answered as it stands: the workflow carries on either way.
 */
async function answerSynchronously(
  run: ChannelOrderRun,
  attemptId: string,
  outcome: ChannelFact,
): Promise<Attempt> {
  await run.applyFact(outcome);
  // The channel's own code for a decline, from the answer that told it.
  let declineCode = outcome.declineCode;
  const current = () => run.state.attempts.find((a) => a.id === attemptId)!;
  const deadline = Date.now() + (run.input.syncPayWaitSeconds ?? defaultSyncPayWaitSeconds) * 1000;
  for (const delay of syncQueryDelaysSeconds) {
    const wait = Math.min(delay * 1000, deadline - Date.now());
    if (current().status !== 'PENDING' || wait <= 0) break;
    await condition(() => run.facts.length > 0, wait, {
      summary: `then ask whether ${current().outTradeNo} is paid`,
    });
    await run.applyFacts();
    if (current().status !== 'PENDING') break;
    const { channel: name, outTradeNo, method } = current();
    try {
      const answer = await queries.queryChannelOrder({ channel: name, outTradeNo, method });
      declineCode = answer.declineCode ?? declineCode;
      await run.applyFact(answer);
    } catch (err) {
      log.warn('quick query failed while waiting for a payment', {
        outTradeNo,
        error: String(err),
      });
    }
  }
  const attempt = current();
  if (attempt.status === 'CLOSED') {
    throw ApplicationFailure.create({
      message: `channel ${attempt.channel} declined the payment`,
      type: 'PAYMENT_DECLINED',
      nonRetryable: true,
      details: declineCode === undefined ? [] : [{ declineCode }],
    });
  }
  return attempt;
}

/** Asks the channel about the open channel order; a query that learns nothing is counted. */
export async function queryOpenAttempt(run: ChannelOrderRun) {
  const open = openAttempt(run.state);
  if (!open || open.status === 'OPENING') return;
  run.queriesDone += 1;
  let learnt = false;
  try {
    const fact = await queries.queryChannelOrder.executeWithOptions(
      { summary: `query ${open.channel} ${open.outTradeNo} (query ${run.queriesDone})` },
      [{ channel: open.channel, outTradeNo: open.outTradeNo, method: open.method }],
    );
    learnt = !(fact.status === 'NOT_FOUND' && open.status === 'PENDING');
    await run.applyFact(fact, 'asked');
  } catch (err) {
    log.warn('channel query failed', { outTradeNo: open.outTradeNo, error: String(err) });
  }
  run.failuresInARow = learnt ? 0 : run.failuresInARow + 1;
  if (learnt) await run.channelAnswered('learnt');
  else
    await run.flagIfUnreachable(run.failuresInARow, { outTradeNo: open.outTradeNo, at: 'query' });
}

/**
 * Closes one channel order; a close refused because it is paid is that payment's news.
 * Answers false when the channel could not be reached.
 */
async function closeAtChannel(run: ChannelOrderRun, attempt: Attempt): Promise<boolean> {
  let answer: CloseAnswer;
  try {
    answer = await channel.closeChannelOrder.executeWithOptions(
      { summary: `close ${attempt.channel} ${attempt.outTradeNo} at the channel` },
      [{ channel: attempt.channel, outTradeNo: attempt.outTradeNo }],
    );
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
  await run.applyFact(fact, 'asked');
  return true;
}

/** Closes every open channel order; answers whether the channel confirmed each close. */
export async function closeOpenAttempts(run: ChannelOrderRun): Promise<boolean> {
  let confirmed = true;
  for (const open of run.state.attempts.filter(isOpen)) {
    confirmed = (await closeAtChannel(run, open)) && confirmed;
  }
  return confirmed;
}

/**
 * Closes every open channel order, retrying on the query schedule while the channel cannot
 * confirm, without holding the serializer between tries (sync, close and attention go on).
 * Stops early once `done()` holds.
 */
export async function closeEveryOpenChannelOrder(run: ChannelOrderRun, done: () => boolean) {
  for (let failures = 1; ; failures++) {
    const confirmed = await run.serialized(async () => {
      await run.applyFacts();
      return done() || (await closeOpenAttempts(run));
    });
    // The serializer is entered only to change something, so that the run's commands stay
    // in the order of runs recorded before these flags.
    if (confirmed && run.passingFlag && !openAttempt(run.state)) {
      await run.serialized(() => run.channelAnswered('closed'));
    }
    if (confirmed || done()) return;
    if (needsAttentionAfter(run.schedule, failures) && !run.state.needsAttention) {
      await run.serialized(() => run.flagIfUnreachable(failures, { at: 'close' }));
    }
    const wait = nextQueryWaitMs(run.schedule, run.state.id, failures - 1, failures);
    await condition(() => run.facts.length > 0 || !openAttempt(run.state), wait, {
      summary: `then close again (try ${failures + 1})`,
    });
  }
}

export function attemptView(a: Attempt): AttemptView {
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

/** The refusal of a pay or close that finds the order paid. */
export function alreadyPaid(): ApplicationFailure {
  return ApplicationFailure.nonRetryable('the pay order is already paid', 'ALREADY_PAID');
}

/** A switch or a merchant close the channel could not confirm changes nothing. */
export function channelUnavailable(): ApplicationFailure {
  return ApplicationFailure.nonRetryable(
    'the channel could not confirm closing the open channel order; try again',
    'CHANNEL_UNAVAILABLE',
  );
}
