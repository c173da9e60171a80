// The phases of a payment run, in the order a pay order lives them: open until settled or expired,
// closed at expiry, the merchant told, then listening through the late window until its refunds end.
//
// A phase is a generator and `yield promise` in it is `await promise`: `inSequence` runs the phases
// as one async function would, so nothing runs between the end of one and the start of the next.
// Awaiting async functions instead would add a microtask turn at each phase's end, letting a
// handler queued on the serializer issue its commands before the next phase's first command (a
// patch marker, a timer), in another order than the histories of running workflows hold (the
// attention-queued-* replays in test/replay fail that way).
import {
  allHandlersFinished,
  condition,
  log,
  makeContinueAsNewFunc,
  workflowInfo,
} from '@temporalio/workflow';
import { closeOrder, isSettled, openAttempt } from '../../domain/payOrder';
import {
  needsAttentionAfter,
  nextQueryDelaySeconds,
  nextQueryWaitMs,
} from '../../domain/querySchedule';
import type { PaymentInput, PayOrderView } from '../contracts/payment';
import { closeEveryOpenChannelOrder, closeOpenAttempts, queryOpenAttempt } from './channelOrders';
import type { PayOrderRun } from './run';

/** Steps of a run that yield the promises they wait for; `T` is what the phase answers. */
export type Phase<T = void> = Generator<Promise<unknown>, T, never>;

/** Runs phases to their end: each yielded promise is awaited and its outcome handed back. */
export async function inSequence<T>(phases: Phase<T>): Promise<T> {
  const steps = phases as Generator<Promise<unknown>, T, unknown>;
  let step = steps.next();
  while (!step.done) {
    let value: unknown;
    try {
      value = await step.value;
    } catch (err) {
      step = steps.throw(err);
      continue;
    }
    step = steps.next(value);
  }
  return step.value;
}

/** `yield* awaited(promise)` is `await promise` where the value is wanted. */
function* awaited<T>(promise: Promise<T>): Generator<Promise<T>, T, T> {
  return yield promise;
}

/** History length after which a run hands over to a new one, unless Temporal suggests it first. */
const defaultContinueAsNewAfterEvents = 5000;

/**
 * Open: until paid, closed, or expired; an open channel order is queried on the schedule. A long
 * history hands over to a new run meanwhile.
 */
export function* untilSettledOrExpired(run: PayOrderRun): Phase {
  // The API stored the new order and Temporal its search attributes before the start: runs since
  // `no-first-save` have nothing to write until the order changes.
  if (!run.resumed && !run.takes('no-first-save')) yield run.save(run.state);
  const queryFallback = run.takes('query-fallback');
  const mayContinueAsNew = run.takes('continue-as-new');
  while (!isSettled(run.state)) {
    if (mayContinueAsNew && historyIsLong(run.input)) {
      yield continueAsNewWhenQuiet(run);
      continue;
    }
    const untilExpiry = run.state.expiresAtMs - Date.now();
    if (untilExpiry <= 0) break;
    const open = openAttempt(run.state);
    const untilQuery =
      queryFallback && open
        ? nextQueryWaitMs(run.schedule, open.id, run.queriesDone, run.failuresInARow)
        : Infinity;
    run.nextQueryAtMs = untilQuery < untilExpiry ? Date.now() + untilQuery : undefined;
    run.showDetails();
    // The timer's summary in the Temporal UI: what the run does when it fires.
    const summary =
      open && untilQuery < untilExpiry
        ? `then query ${open.channel} ${open.outTradeNo} (query ${run.queriesDone + 1})`
        : `then expire (${new Date(run.state.expiresAtMs).toISOString()})`;
    const woken = yield* awaited(
      condition(
        () =>
          run.facts.length > 0 ||
          isSettled(run.state) ||
          (queryFallback && openAttempt(run.state)?.id !== open?.id) ||
          (mayContinueAsNew && historyIsLong(run.input)),
        Math.min(untilExpiry, untilQuery),
        { summary },
      ),
    );
    yield run.serialized(() => run.applyFacts());
    if (!woken && untilQuery < untilExpiry) yield run.serialized(() => queryOpenAttempt(run));
  }
}

/**
 * Expired: the order closes only once the channel confirms every channel order is closed; a
 * close that reveals a payment settles it instead. The retries do not hold the serializer.
 */
export function* closeAtExpiry(run: PayOrderRun): Phase {
  const paid = () => run.state.status === 'SUCCEEDED';
  if (!paid()) yield closeEveryOpenChannelOrder(run, paid);
  yield run.serialized(async () => {
    await run.applyFacts();
    await run.save(closeOrder(run.state));
  });
}

/**
 * Expired, as runs recorded before `close-without-holding` do it: the serializer is held until
 * the channel confirms every close.
 */
export function* closeAtExpiryHoldingTheSerializer(run: PayOrderRun): Phase {
  yield run.serialized(async () => {
    await run.applyFacts();
    // Expired: the order closes only once the channel confirms every channel order is closed.
    for (let failures = 1; !(await closeOpenAttempts(run)); failures++) {
      if (needsAttentionAfter(run.schedule, failures) && !run.state.needsAttention) {
        run.attention = { code: 'CHANNEL_SILENT', reason: `${failures} closes in a row failed` };
        await run.save({ ...run.state, needsAttention: true });
      }
      const delay = nextQueryDelaySeconds(run.schedule, failures - 1, failures);
      await condition(() => run.facts.length > 0, delay * 1000, {
        summary: `then close again (try ${failures + 1})`,
      });
      await run.applyFacts();
    }
    await run.save(closeOrder(run.state));
  });
}

/** The order is settled: the merchant hears whether it was paid or closed. */
export function* tellMerchant(run: PayOrderRun): Phase {
  yield run.tellMerchant(
    run.state.status === 'SUCCEEDED' ? 'pay_order.succeeded' : 'pay_order.closed',
  );
}

/** A channel order left open beside the one that paid is closed after the merchant is told. */
export function* closeLeftOpen(run: PayOrderRun): Phase {
  yield closeEveryOpenChannelOrder(run, () => false);
}

/** Late window: a success that arrives now is still applied (and refunded), never dropped. */
export function* lateWindow(run: PayOrderRun): Phase {
  const lateUntil = Date.now() + run.input.lateWindowSeconds * 1000;
  while (Date.now() < lateUntil) {
    yield condition(() => run.facts.length > 0, lateUntil - Date.now(), {
      summary: `late window: a success until ${new Date(lateUntil).toISOString()} is refunded`,
    });
    yield run.serialized(() => run.applyFacts());
  }
}

/** The run ends once its compensating refunds, merchant delivery tries and handlers have. */
export function* finishRefunds(run: PayOrderRun): Phase {
  if (run.takes('late-facts-applied')) {
    // Compensating refunds may outlast the late window: every fact that reaches this run until
    // it completes is applied (a success then is refunded like any other), never dropped.
    for (;;) {
      yield condition(() => run.facts.length > 0 || runIsQuiet(run));
      if (run.facts.length === 0) break;
      yield run.serialized(() => run.applyFacts());
    }
  } else {
    yield Promise.all(run.compensations);
    yield condition(() => runIsQuiet(run));
  }
}

/** No refund, merchant delivery try or handler of the run is under way. */
function runIsQuiet(run: PayOrderRun): boolean {
  return run.compensating === 0 && run.tellingMerchant === 0 && allHandlersFinished();
}

/** Whether this run's history is long enough to hand over to a new run. */
function historyIsLong(input: PaymentInput): boolean {
  const info = workflowInfo();
  const bound = input.continueAsNewAfterEvents ?? defaultContinueAsNewAfterEvents;
  return info.continueAsNewSuggested || info.historyLength >= bound;
}

/**
 * Continues as a new run carrying the state, once no handler is running. Answers only if the
 * order settled meanwhile (the run then carries on to its end).
 */
async function continueAsNewWhenQuiet(run: PayOrderRun): Promise<void> {
  run.handingOver = true;
  await condition(allHandlersFinished);
  run.handingOver = false;
  if (isSettled(run.state) || run.compensating > 0 || run.tellingMerchant > 0) return;
  log.info('history is long; continuing as new', { historyLength: workflowInfo().historyLength });
  await makeContinueAsNewFunc<(input: PaymentInput) => Promise<PayOrderView>>({
    // The operator's view in the Temporal UI carries over to the new run.
    typedSearchAttributes: workflowInfo().typedSearchAttributes,
  })({ ...run.input, resume: run.forNextRun() });
}
