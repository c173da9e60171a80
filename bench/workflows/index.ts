// The engine's ceilings: workflows shaped like one paid payment whose activities do nothing, as
// paycenter's was before issue 17 (the same activities, update, signal, search attribute upserts
// and merchant-notification child) and as it is now; the minimal payment; and the least an open
// payment can cost on the engine's disk.
import {
  condition,
  defineSignal,
  defineUpdate,
  ParentClosePolicy,
  patched,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
  sleep,
  startChild,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { BareActivities } from './activities';
import { searchAttributes } from '../../src/workflows/contracts/payment';

// The same activity options as the payment workflow's record and channel calls.
const acts = proxyActivities<BareActivities>({
  startToCloseTimeout: '20s',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumAttempts: 3 },
});

// The payment's writes as local activities (payment-shape-6).
const localActs = proxyLocalActivities<BareActivities>({
  startToCloseTimeout: '10s',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1m' },
});

export const barePay = defineUpdate<{ attemptId: string }, []>('pay');
export const bareNotify = defineSignal('notify');

/** The child's ID, so the bench can wait for the "merchant notified" moment. */
export const bareEventId = (payOrderId: string) => `${payOrderId}-evt`;

/** One save: an activity and the search attribute upsert that goes with it. */
async function save(status: string) {
  await acts.savePayOrder.executeWithOptions({ summary: 'save v3: SUCCEEDED' }, []);
  upsertSearchAttributes([
    { key: searchAttributes.payStatus, value: status },
    { key: searchAttributes.needsAttention, value: false },
  ]);
}

export async function barePayment(lateWindowSeconds: number): Promise<void> {
  let paid = false;
  setHandler(barePay, async () => {
    await save('CREATED'); // the attempt saved as OPENING
    await acts.openChannelOrder();
    await save('CREATED'); // the attempt saved as PENDING
    return { attemptId: 'att' };
  });
  setHandler(bareNotify, () => {
    paid = true;
  });
  await save('CREATED');
  await condition(() => paid);
  await save('SUCCEEDED');
  await startChild(bareNotification, {
    workflowId: bareEventId(workflowInfo().workflowId),
    parentClosePolicy: ParentClosePolicy.ABANDON,
  });
  // Like the payment's late window: the workflow stays open with a timer pending.
  await sleep(lateWindowSeconds * 1000);
}

export async function bareNotification(): Promise<void> {
  await acts.recordMerchantEvent();
  await acts.deliverMerchantEvent();
}

export const minimalPay = defineUpdate<{ attemptId: string }, []>('minimalPay');
export const minimalNotify = defineSignal('minimalNotify');

/**
 * The least any durable payment needs on this engine: started, one Update that calls the
 * channel (one activity), one signal that says it was paid, completed. No database, no child.
 */
export async function minimalPayment(): Promise<void> {
  let paid = false;
  setHandler(minimalPay, async () => {
    await acts.openChannelOrder();
    return { attemptId: 'att' };
  });
  setHandler(minimalNotify, () => {
    paid = true;
  });
  await condition(() => paid);
}

/**
 * The least an open payment keeps on the engine: a workflow started as a pay order's is (its
 * search attributes and summary), waiting on its expiry timer. Nothing else happens in it.
 */
export async function openFloor(expirySeconds: number): Promise<void> {
  await sleep(expirySeconds * 1000);
}

export const currentPay = defineUpdate<{ attemptId: string }, []>('currentPay');
export const currentNotify = defineSignal('currentNotify');

/**
 * Paycenter's payment as it is now, its activities doing nothing: the commands (with their
 * summaries) and workflow tasks one paid payment costs the engine (ARCHITECTURE "The payment
 * workflow in code"); not the current details the real run sets, which cost its worker only. Started
 * with the pay order's search attributes; the shape's patch marker and the expiry timer; the pay
 * Update opens a channel order between two saves in one activity; the first query's timer waits
 * for the notify signal; then the paid order's save (a local activity), and the first merchant
 * delivery try while the late window's timer runs. It completes once that try is done, where the payment would wait
 * out its late window, so that the driver can wait for its result.
 */
export async function currentShapePayment(expirySeconds: number, firstQuerySeconds: number) {
  patched('payment-shape-6');
  let opening = false;
  let opened = false;
  let paid = false;
  setHandler(currentPay, async () => {
    opening = true;
    upsertSearchAttributes([{ key: searchAttributes.payStatus, value: 'PAYING' }]);
    await acts.openChannelOrderBetweenSaves.executeWithOptions(
      { summary: 'open sandbox page T01' },
      [],
    );
    opened = true;
    return { attemptId: 'att' };
  });
  setHandler(currentNotify, () => {
    paid = true;
  });
  await condition(() => opening, expirySeconds * 1000);
  await condition(() => opened);
  await condition(() => paid, firstQuerySeconds * 1000);
  await localActs.savePayOrder.executeWithOptions({ summary: 'save v3: SUCCEEDED' }, []);
  upsertSearchAttributes([
    { key: searchAttributes.payStatus, value: 'SUCCEEDED' },
    { key: searchAttributes.payChannel, value: 'sandbox' },
  ]);
  let told = false;
  void acts.recordAndDeliverMerchantEvent
    .executeWithOptions({ summary: 'tell the merchant pay_order.succeeded (evt_01)' }, [])
    .then(() => (told = true));
  await condition(() => told, 72 * 3600 * 1000);
}
