// The payment workflow: one per pay order, keyed by its ID. It owns the pay order's state, serializes
// pay requests, turns channel facts into transitions, closes the order at expiry, and then keeps
// listening through the late window so a late or duplicate success is never lost.
import {
  allHandlersFinished,
  ApplicationFailure,
  condition,
  log,
  makeContinueAsNewFunc,
  patched,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import {
  closeOrder,
  decidePay,
  isSettled,
  openAttempt,
  syncCanLearn,
  type PayRequest,
} from '../domain/payOrder';
import { needsAttentionAfter, nextQueryDelaySeconds } from '../domain/querySchedule';
import {
  attention,
  clearAttention,
  close,
  notify,
  nothingToSync,
  pay,
  status,
  sync,
  type PaymentInput,
  type PayOrderView,
} from './contracts/payment';
import {
  alreadyPaid,
  channelOrderFor,
  channelUnavailable,
  closeEveryOpenChannelOrder,
  closeOpenAttempts,
  queryOpenAttempt,
} from './payment/channelOrders';
import { PayOrderRun } from './payment/run';

/** History length after which a run hands over to a new one, unless Temporal suggests it first. */
const defaultContinueAsNewAfterEvents = 5000;

export async function payment(input: PaymentInput): Promise<PayOrderView> {
  const order = new PayOrderRun(input);
  const { facts, schedule, serialized } = order;

  setHandler(status, () => order.view());
  setHandler(notify, (fact) => {
    facts.push(fact);
  });
  setHandler(attention, (reason, passes) =>
    serialized(async () => {
      log.warn('an operator is asked to look at this pay order', { reason });
      if (passes === 'OPEN_PAST_EXPIRY' && patched('open-past-expiry-flag-passes')) {
        await order.flagUntilClosed();
      } else {
        await order.flagForOperator();
      }
    }),
  );
  setHandler(clearAttention, (note) =>
    serialized(async () => {
      log.info('an operator cleared the attention flag', { note });
      order.passingFlag = undefined;
      if (order.state.needsAttention) await order.save({ ...order.state, needsAttention: false });
    }),
  );
  setHandler(pay, (request) => serialized(() => channelOrderFor(order, request)), {
    validator: (request: PayRequest) => {
      order.refuseWhileHandingOver();
      const decision = decidePay(order.state, request, Date.now(), input.maxChannelOrders);
      if (decision.kind === 'refuse') {
        throw ApplicationFailure.nonRetryable(decision.message, decision.code);
      }
    },
  });

  setHandler(
    sync,
    () =>
      serialized(async () => {
        await order.applyFacts();
        await queryOpenAttempt(order);
        return order.view();
      }),
    {
      // Nothing open to ask about and nothing under way: the caller reads the books, which are
      // current, and the history stays as it is.
      validator: () => {
        order.refuseWhileHandingOver();
        // Work under way (a fact being applied and saved) may still change the books: wait for it.
        if (facts.length === 0 && serialized.idle() && !syncCanLearn(order.state)) {
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
        await order.applyFacts();
        const confirmed = await closeOpenAttempts(order);
        if (order.state.status === 'SUCCEEDED') throw alreadyPaid();
        if (!confirmed) throw channelUnavailable();
        await order.save(closeOrder(order.state));
        return order.view();
      }),
    {
      validator: () => {
        order.refuseWhileHandingOver();
        if (order.state.status === 'SUCCEEDED') throw alreadyPaid();
        if (order.state.status === 'CLOSED') {
          throw ApplicationFailure.nonRetryable('the pay order is already closed', 'ORDER_CLOSED');
        }
      },
    },
  );

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
    order.handingOver = true;
    await condition(allHandlersFinished);
    order.handingOver = false;
    if (isSettled(order.state) || order.compensating > 0) return;
    log.info('history is long; continuing as new', { historyLength: workflowInfo().historyLength });
    await makeContinueAsNewFunc<typeof payment>({
      // The operator's view in the Temporal UI carries over to the new run.
      typedSearchAttributes: workflowInfo().typedSearchAttributes,
    })({ ...input, resume: order.forNextRun() });
  }

  if (!order.resumed) await order.save(order.state);

  // Open: until paid, closed, or expired; an open channel order is queried on the schedule.
  const queryFallback = patched('query-fallback');
  const mayContinueAsNew = patched('continue-as-new');
  while (!isSettled(order.state)) {
    if (mayContinueAsNew && historyIsLong()) {
      await continueAsNewWhenQuiet();
      continue;
    }
    const untilExpiry = order.state.expiresAtMs - Date.now();
    if (untilExpiry <= 0) break;
    const open = openAttempt(order.state);
    const untilQuery =
      queryFallback && open
        ? nextQueryDelaySeconds(schedule, order.queriesDone, order.failuresInARow) * 1000
        : Infinity;
    const woken = await condition(
      () =>
        facts.length > 0 ||
        isSettled(order.state) ||
        (queryFallback && openAttempt(order.state)?.id !== open?.id) ||
        (mayContinueAsNew && historyIsLong()),
      Math.min(untilExpiry, untilQuery),
    );
    await serialized(() => order.applyFacts());
    if (!woken && untilQuery < untilExpiry) await serialized(() => queryOpenAttempt(order));
  }
  if (patched('close-without-holding')) {
    // Expired: the order closes only once the channel confirms every channel order is closed;
    // a close that reveals a payment settles it instead.
    const paid = () => order.state.status === 'SUCCEEDED';
    if (!paid()) await closeEveryOpenChannelOrder(order, paid);
    await serialized(async () => {
      await order.applyFacts();
      await order.save(closeOrder(order.state));
    });
    await order.tellMerchant(paid() ? 'pay_order.succeeded' : 'pay_order.closed');
    // A paid order is announced first; a channel order left open beside it is closed after.
    await closeEveryOpenChannelOrder(order, () => false);
  } else {
    await serialized(async () => {
      await order.applyFacts();
      // Expired: the order closes only once the channel confirms every channel order is closed.
      for (let failures = 1; !(await closeOpenAttempts(order)); failures++) {
        if (needsAttentionAfter(schedule, failures) && !order.state.needsAttention) {
          await order.save({ ...order.state, needsAttention: true });
        }
        const delay = nextQueryDelaySeconds(schedule, failures - 1, failures);
        await condition(() => facts.length > 0, delay * 1000);
        await order.applyFacts();
      }
      await order.save(closeOrder(order.state));
    });
    if (patched('merchant-notification')) {
      await order.tellMerchant(
        order.state.status === 'SUCCEEDED' ? 'pay_order.succeeded' : 'pay_order.closed',
      );
    }
  }

  // Late window: a success that arrives now is still applied (and flagged), never dropped.
  const lateUntil = Date.now() + input.lateWindowSeconds * 1000;
  while (Date.now() < lateUntil) {
    await condition(() => facts.length > 0, lateUntil - Date.now());
    await serialized(() => order.applyFacts());
  }
  if (patched('late-facts-applied')) {
    // Compensating refunds may outlast the late window: every fact that reaches this run until
    // it completes is applied (a success then is refunded like any other), never dropped.
    for (;;) {
      await condition(
        () => facts.length > 0 || (order.compensating === 0 && allHandlersFinished()),
      );
      if (facts.length === 0) break;
      await serialized(() => order.applyFacts());
    }
  } else {
    await Promise.all(order.compensations);
    await condition(allHandlersFinished);
  }
  return order.view();
}
