// Refunds: following one refund at the channel to a final status, the small workflow that refunds
// a success arriving after its pay order's workflow has completed, and the refunds merchants ask
// for (one workflow per refund). Contracts: ./contracts/strayPayment.ts and merchantRefund.ts.
import { log, patched, proxyActivities, sleep } from '@temporalio/workflow';
import type { ChannelCallActivities, ChannelRefundRef } from '../activities/channelCalls';
import type { PayOrderRecordActivities } from '../activities/payOrderRecords';
import type { StrayPaymentActivities } from '../activities/strayPayments';
import { formatMinorUnits } from '../domain/currencies';
import { newId } from '../domain/ids';
import type { ChannelFact } from '../domain/payOrder';
import {
  defaultMerchantNotifyRetrySeconds,
  type MerchantEventData,
} from '../domain/merchantEvents';
import { defaultQuerySchedule, nextQueryWaitMs, type QuerySchedule } from '../domain/querySchedule';
import type { MerchantRefundInput, RefundRecord, RefundStatus } from './contracts/merchantRefund';
import type { StrayPaymentInput, StrayPaymentOutcome } from './contracts/strayPayment';
import { startMerchantNotification } from './merchantNotification';

// Refunds must happen: keep retrying a channel that is down, but not one that refuses.
const channel = proxyActivities<ChannelCallActivities>({
  startToCloseTimeout: '20s',
  retry: { initialInterval: '5s', backoffCoefficient: 2, maximumInterval: '10m' },
});
// One try per follow-up of a refund the channel took: the query schedule itself is the retry.
const followUps = proxyActivities<ChannelCallActivities>({
  startToCloseTimeout: '15s',
  retry: { maximumAttempts: 1 },
});
const records = proxyActivities<PayOrderRecordActivities & StrayPaymentActivities>({
  startToCloseTimeout: '10s',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1m' },
});

/**
 * Before this patch any error while following a PROCESSING refund made it FAILED, which freed its
 * amount for another refund although the channel had taken it.
 */
export const refundFollowUpNeverFailsPatch = 'refund-follow-up-never-fails';

/**
 * Refunds at the channel with our refund ID as its idempotency key and follows a PROCESSING refund
 * with refund queries until it is final. FAILED means the channel refused the refund request
 * itself (or, when following it, said the refund failed): an operator decides. Once the channel
 * has taken the refund, a follow-up that fails or is refused (a rate limit, an outage) learns
 * nothing: the refund stays PROCESSING and is asked about again on the schedule, rarely after
 * many failures in a row; the safety net flags one not final in time.
 */
export async function refundAtChannel(
  ref: ChannelRefundRef,
  amount: number,
  schedule: QuerySchedule,
  summary = `refund ${ref.refundNo}`,
): Promise<RefundStatus> {
  let status: RefundStatus;
  try {
    status = await channel.refundChannelOrder.executeWithOptions({ summary }, [{ ...ref, amount }]);
  } catch (err) {
    log.error('channel refused the refund', { refundNo: ref.refundNo, error: String(err) });
    return 'FAILED';
  }
  if (status !== 'PROCESSING') return status;
  const neverFails = patched(refundFollowUpNeverFailsPatch);
  try {
    return await followRefund(ref, amount, schedule, neverFails);
  } catch (err) {
    // Only workflows that started following before the patch get here.
    log.error('channel refused the refund', { refundNo: ref.refundNo, error: String(err) });
    return 'FAILED';
  }
}

/** What the merchant hears of a refund (`pay_order.refunded`). */
export type RefundNews = NonNullable<MerchantEventData['refund']>;

/** What becomes of a refund once the channel's answer is final. */
export interface RefundEnd {
  /** The final status, as soon as it is known (before it is stored). */
  known?(status: RefundStatus): void;
  /** The channel refused the refund: an operator must look at the pay order. */
  refused(): Promise<unknown>;
  /** The money went back: the merchant is told (`undefined`: nobody is, in this run). */
  refunded(refund: RefundNews): Promise<void> | undefined;
}

/** A refund paycenter decided on itself: stored as PROCESSING first, then settled. */
export async function refundOwed(
  refund: RefundRecord,
  ref: ChannelRefundRef,
  schedule: QuerySchedule,
  end: RefundEnd,
): Promise<RefundStatus> {
  await records.saveRefund(refund);
  return settleRefund(refund, ref, schedule, end);
}

/**
 * The tail every refund shares: refunded at the channel and followed to a final status
 * (`refundAtChannel`), the status stored, then the merchant told or, when the channel refused it,
 * an operator asked to look.
 */
export async function settleRefund(
  refund: RefundRecord,
  ref: ChannelRefundRef,
  schedule: QuerySchedule,
  end: RefundEnd,
): Promise<RefundStatus> {
  const money = `${formatMinorUnits(refund.amount, refund.currency)} ${refund.currency}`;
  const summary = `refund ${refund.reason} ${money} of ${ref.channel} ${ref.outTradeNo}`;
  const status = await refundAtChannel(ref, refund.amount, schedule, summary);
  end.known?.(status);
  await records.saveRefund({ ...refund, status });
  if (status === 'FAILED') {
    await end.refused();
  } else {
    // Waited for only when someone is told: the run's steps stay as recorded histories hold them.
    const telling = end.refunded({
      id: refund.id,
      amount: refund.amount,
      reason: refund.reason,
      status,
    });
    if (telling) await telling;
  }
  return status;
}

async function followRefund(
  ref: ChannelRefundRef,
  amount: number,
  schedule: QuerySchedule,
  neverFails: boolean,
): Promise<RefundStatus> {
  const calls = neverFails ? followUps : channel;
  let status: RefundStatus = 'PROCESSING';
  let failuresInARow = 0;
  for (let checks = 0; status === 'PROCESSING'; checks++) {
    await sleep(nextQueryWaitMs(schedule, ref.refundNo, checks, failuresInARow), {
      summary: `then ask about refund ${ref.refundNo} (check ${checks + 1})`,
    });
    try {
      status = await calls.queryChannelRefund(ref);
      // Not at the channel (the request was lost): ask again, it is idempotent.
      if (status === 'FAILED') status = await calls.refundChannelOrder({ ...ref, amount });
      failuresInARow = 0;
    } catch (err) {
      if (!neverFails) throw err;
      // A query that said "not at the channel" and a repeat that failed: still not known.
      status = 'PROCESSING';
      failuresInARow++;
      log.warn('refund follow-up learnt nothing; asking again later', {
        refundNo: ref.refundNo,
        failuresInARow,
        error: String(err),
      });
    }
  }
  return status;
}

/**
 * A success for a channel order whose pay order workflow has completed (after its late window).
 * Keyed by the attempt, so repeats of the notification start it once.
 */
export async function strayPayment(input: StrayPaymentInput): Promise<StrayPaymentOutcome> {
  const verdict = await records.classifyStrayPayment({
    payOrderId: input.payOrderId,
    attemptId: input.attemptId,
  });
  if (verdict.kind === 'accounted') return 'ALREADY_ACCOUNTED';

  // The notification was signed, but money goes back only for a payment the channel confirms.
  const fact: ChannelFact =
    input.confirmedAmount !== undefined
      ? {
          outTradeNo: input.outTradeNo,
          status: 'SUCCEEDED',
          amount: input.confirmedAmount,
          source: 'statement',
        }
      : await channel.queryChannelOrder({ channel: input.channel, outTradeNo: input.outTradeNo });
  if (fact.status !== 'SUCCEEDED' || fact.amount !== verdict.amount) {
    log.warn('stray payment not confirmed by the channel', { outTradeNo: input.outTradeNo });
    await records.flagPayOrder({
      payOrderId: input.payOrderId,
      reason: `a success for ${input.outTradeNo} the channel does not confirm`,
      code: 'STRAY_PAYMENT_UNCONFIRMED',
    });
    return 'NOT_PAID';
  }
  await records.markAttemptPaid({ attemptId: input.attemptId });

  const record: RefundRecord = {
    id: newId('rf', Date.now(), Math.random),
    payOrderId: input.payOrderId,
    merchantId: verdict.merchantId,
    attemptId: input.attemptId,
    amount: verdict.amount,
    currency: verdict.currency,
    reason: verdict.reason,
    status: 'PROCESSING',
  };
  return refundOwed(
    record,
    { channel: input.channel, outTradeNo: input.outTradeNo, refundNo: record.id },
    input.querySchedule ?? defaultQuerySchedule,
    toldOrFlagged(
      record,
      {
        merchantOrderNo: verdict.merchantOrderNo,
        status: verdict.orderStatus,
        amount: verdict.orderAmount,
        currency: verdict.currency,
      },
      input.merchantNotifyRetrySeconds,
    ),
  );
}

/**
 * A refund the merchant asked for (ID = refund ID). The API has already checked it against the
 * paid amount and stored it PROCESSING; this refunds at the channel, records the final status and
 * tells the merchant. A refund the channel refuses is FAILED and puts the order on the
 * operators' list.
 */
export async function merchantRefund(input: MerchantRefundInput): Promise<RefundStatus> {
  const { refund } = input;
  return settleRefund(
    refund,
    {
      channel: input.channel,
      outTradeNo: input.outTradeNo,
      refundNo: refund.id,
      ...(input.method ? { method: input.method } : {}),
    },
    input.querySchedule ?? defaultQuerySchedule,
    toldOrFlagged(
      refund,
      {
        merchantOrderNo: input.merchantOrderNo,
        status: 'SUCCEEDED',
        amount: input.orderAmount,
        currency: refund.currency,
      },
      input.merchantNotifyRetrySeconds,
    ),
  );
}

/**
 * The end of a refund outside its pay order's run: the merchant is told, with the order as it
 * stands; a refund the channel refused flags the order in the books.
 */
function toldOrFlagged(
  refund: RefundRecord,
  order: Omit<MerchantEventData, 'payOrderId' | 'refund'>,
  merchantNotifyRetrySeconds: number[] | undefined,
): RefundEnd {
  return {
    refused: () =>
      records.flagPayOrder({
        payOrderId: refund.payOrderId,
        reason: `the channel refused refund ${refund.id}`,
        code: 'REFUND_REFUSED',
      }),
    refunded: (news) =>
      startMerchantNotification(
        'pay_order.refunded',
        { payOrderId: refund.payOrderId, ...order, refund: news },
        merchantNotifyRetrySeconds ?? defaultMerchantNotifyRetrySeconds,
      ),
  };
}
