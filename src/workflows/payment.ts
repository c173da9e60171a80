// The payment workflow: one per pay order, keyed by its ID. payment() builds the run's state
// (./payment/run.ts), answers the order's messages through it, and lives the pay order's phases
// (./payment/phases.ts): open until paid or expired, closed at the channel, the merchant told, then
// listening through the late window so that a late or duplicate success is never lost.
import { ApplicationFailure, log, setHandler } from '@temporalio/workflow';
import { closeOrder, decidePay, syncCanLearn, type PayRequest } from '../domain/payOrder';
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
  closeOpenAttempts,
  queryOpenAttempt,
} from './payment/channelOrders';
import {
  closeAtExpiry,
  closeAtExpiryHoldingTheSerializer,
  closeLeftOpen,
  finishRefunds,
  inSequence,
  lateWindow,
  tellMerchant,
  untilSettledOrExpired,
  type Phase,
} from './payment/phases';
import { PayOrderRun } from './payment/run';

export async function payment(input: PaymentInput): Promise<PayOrderView> {
  const order = new PayOrderRun(input);
  answerMessages(order);
  return inSequence(lifeOf(order));
}

/** The pay order's life, phase after phase (./payment/phases.ts). */
function* lifeOf(order: PayOrderRun): Phase<PayOrderView> {
  yield* untilSettledOrExpired(order);
  if (order.takes('close-without-holding')) {
    yield* closeAtExpiry(order);
    yield* tellMerchant(order);
    // A paid order is announced first; a channel order left open beside it is closed after.
    yield* closeLeftOpen(order);
  } else {
    yield* closeAtExpiryHoldingTheSerializer(order);
    if (order.takes('merchant-notification')) yield* tellMerchant(order);
  }
  yield* lateWindow(order);
  yield* finishRefunds(order);
  return order.view();
}

/**
 * The pay order's messages: the status query and the notify signal answer at once; everything
 * that changes the order runs under its serializer, in arrival order. Each task keeps the shape
 * running workflows recorded (an `await` more or less moves the commands of the tasks queued
 * behind it).
 */
function answerMessages(order: PayOrderRun) {
  const { input, facts, serialized } = order;

  setHandler(status, () => order.view());
  setHandler(notify, (fact) => {
    facts.push(fact);
  });
  setHandler(attention, (reason, passes, code) =>
    serialized(async () => {
      log.warn('an operator is asked to look at this pay order', { reason, code });
      if (passes === 'OPEN_PAST_EXPIRY' && order.takes('open-past-expiry-flag-passes')) {
        await order.flagUntilClosed();
      } else {
        await order.flagForOperator({ code: code ?? 'FLAGGED', reason });
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
}
