// End-to-end payments through the HTTP API, as a merchant and a payer drive them: create, pay
// with the sandbox, the payer pays, the channel notifies, SUCCEEDED, the merchant is notified.
import os from 'node:os';
import { inArray } from 'drizzle-orm';
import type { Db } from '../src/db/client';
import { payOrders } from '../src/db/schema';
import { cpuMsPer, cpuSnapshot } from './cpu';
import { json } from './http';
import type { MerchantReceiver } from './merchantReceiver';
import { closedLoop, latency, openLoop, wallNow, type Latency } from './stats';

export interface Journey {
  payOrderId: string;
  outTradeNo: string;
  /** The channel's trade number, once paid. */
  tradeNo?: string;
  createSent: number;
  createDone: number;
  paySent: number;
  payDone: number;
  payerSent: number;
  /** When the channel booked the payment (the sandbox's gmt_payment). */
  channelSuccess: number;
  merchantNotified: number;
  /** When the workflow's write of SUCCEEDED began (pay_orders.paid_at). */
  succeeded?: number;
}

export interface PaymentDriver {
  /** The API processes; each journey goes to the next one (no proxy in front, as deployed). */
  apiUrls: string[];
  sandboxUrl: string;
  apiKey: string;
  receiver: MerchantReceiver;
  runId: string;
}

let sequence = 0;

/** One payment from create to the merchant's notification; answers its timings. */
export async function payOnce(
  driver: PaymentDriver,
  options: { expiresInSeconds?: number; payerPays?: boolean } = {},
): Promise<Journey> {
  const auth = { authorization: `Bearer ${driver.apiKey}` };
  const journeyNumber = ++sequence;
  const apiUrl = driver.apiUrls[journeyNumber % driver.apiUrls.length];
  const createSent = wallNow();
  const created = await json<{ id: string }>(
    'POST',
    `${apiUrl}/v1/pay-orders`,
    {
      merchantOrderNo: `bench-${driver.runId}-${journeyNumber}`,
      amount: 1234,
      currency: 'CNY',
      subject: 'Bench coffee',
      expiresInSeconds: options.expiresInSeconds ?? 900,
      notifyUrl: driver.receiver.notifyUrl,
    },
    auth,
  );
  const createDone = wallNow();
  const paySent = createDone;
  const paid = await json<{ attempt: { outTradeNo: string } }>(
    'POST',
    `${apiUrl}/v1/pay-orders/${created.id}/pay`,
    { channel: 'sandbox', method: 'page' },
    auth,
  );
  const payDone = wallNow();
  const journey: Journey = {
    payOrderId: created.id,
    outTradeNo: paid.attempt.outTradeNo,
    createSent,
    createDone,
    paySent,
    payDone,
    payerSent: NaN,
    channelSuccess: NaN,
    merchantNotified: NaN,
  };
  if (options.payerPays === false) return journey;
  journey.payerSent = wallNow();
  const trade = await json<{ gmt_payment: string; trade_no: string }>(
    'POST',
    `${driver.sandboxUrl}/control/payments/${journey.outTradeNo}/pay`,
  );
  journey.channelSuccess = Date.parse(trade.gmt_payment);
  journey.tradeNo = trade.trade_no;
  journey.merchantNotified = await withTimeout(
    driver.receiver.succeeded(created.id),
    120_000,
    `merchant notification for ${created.id}`,
  );
  return journey;
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms);
    }),
  ]);
}

export interface LoadResult {
  mode: 'fixed-rate' | 'saturation';
  offeredPerSecond?: number;
  concurrency?: number;
  completed: number;
  failed: number;
  errors: string[];
  seconds: number;
  perSecond: number;
  createToSucceededMs: Latency;
  channelSuccessToNotifiedMs: Latency;
  createToNotifiedMs: Latency;
}

/** Runs a batch of journeys (one shape of load) and summarises it. */
export async function runPayments(
  driver: PaymentDriver,
  db: Db,
  load:
    | { mode: 'fixed-rate'; count: number; perSecond: number }
    | { mode: 'saturation'; count: number; concurrency: number },
): Promise<{ result: LoadResult; journeys: Journey[] }> {
  const journeys: Journey[] = [];
  const errors: string[] = [];
  let failed = 0;
  const one = async () => {
    try {
      journeys.push(await payOnce(driver));
    } catch (err) {
      failed += 1;
      if (errors.length < 5) errors.push(String((err as Error).message ?? err));
    }
  };
  const started = wallNow();
  if (load.mode === 'fixed-rate') await openLoop(load.count, load.perSecond, one);
  else await closedLoop(load.count, load.concurrency, one);
  const seconds = (Math.max(...journeys.map((j) => j.merchantNotified), started) - started) / 1000;
  await attachSucceededTimes(db, journeys);
  return {
    journeys,
    result: {
      mode: load.mode,
      ...(load.mode === 'fixed-rate'
        ? { offeredPerSecond: load.perSecond }
        : { concurrency: load.concurrency }),
      completed: journeys.length,
      failed,
      errors,
      seconds: Math.round(seconds * 10) / 10,
      perSecond: Math.round((journeys.length / seconds) * 10) / 10,
      createToSucceededMs: latency(journeys.map((j) => j.succeeded! - j.createSent)),
      channelSuccessToNotifiedMs: latency(
        journeys.map((j) => j.merchantNotified - j.channelSuccess),
      ),
      createToNotifiedMs: latency(journeys.map((j) => j.merchantNotified - j.createSent)),
    },
  };
}

export interface E2eLoad {
  warmup: number;
  rate: number;
  rateSeconds: number;
  payments: number;
  concurrency: number;
}

/**
 * The e2e phase: a warm-up, payments at a fixed open-loop rate, then at saturation (closed loop)
 * with the CPU each part of the system spent per payment meanwhile, and the machine's 1-minute load
 * average as it ended.
 */
export async function measureE2e(
  driver: PaymentDriver,
  db: Db,
  load: E2eLoad,
  log: (line: string) => void,
) {
  log(`warm-up: ${load.warmup} payments`);
  await runPayments(driver, db, { mode: 'saturation', count: load.warmup, concurrency: 8 });
  log(`e2e at a fixed rate: ${load.rate}/s for ${load.rateSeconds}s`);
  const fixed = await runPayments(driver, db, {
    mode: 'fixed-rate',
    count: load.rate * load.rateSeconds,
    perSecond: load.rate,
  });
  log(`e2e at saturation: ${load.payments} payments, ${load.concurrency} at a time`);
  const cpuBefore = cpuSnapshot();
  const saturated = await runPayments(driver, db, {
    mode: 'saturation',
    count: load.payments,
    concurrency: load.concurrency,
  });
  const cpuAtSaturation = cpuMsPer(cpuBefore, cpuSnapshot(), saturated.result.completed);
  // How busy the machine was: on a shared one, other load shows here before it shows in the figures.
  const loadAverageAtEnd = os.loadavg()[0]!;
  return { fixed, saturated, cpuAtSaturation, loadAverageAtEnd };
}

/** SUCCEEDED is when the workflow's savePayOrder transaction wrote it: paid_at (its now()). */
async function attachSucceededTimes(db: Db, journeys: Journey[]) {
  for (let i = 0; i < journeys.length; i += 1000) {
    const batch = journeys.slice(i, i + 1000);
    const rows = await db
      .select({ id: payOrders.id, paidAt: payOrders.paidAt })
      .from(payOrders)
      .where(
        inArray(
          payOrders.id,
          batch.map((j) => j.payOrderId),
        ),
      );
    const paidAt = new Map(rows.map((r) => [r.id, r.paidAt?.getTime()]));
    for (const j of batch) j.succeeded = paidAt.get(j.payOrderId) ?? NaN;
  }
}
