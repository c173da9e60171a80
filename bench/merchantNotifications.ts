// Merchant notifications at scale: thousands of events for paid orders whose merchant endpoint
// answers 500 to half the tries (bench/flakyMerchant.ts). The orders are seeded straight into
// books of their own, and each event's merchantNotification workflow is started through the
// Temporal client as the payment workflow's hand-over starts it, on a worker of its own with a
// short retry schedule. Measured: deliveries per second, how long events take to be delivered,
// how punctual the retries are by the merchant's clock, and how every event ended.
import type { Client } from '@temporalio/client';
import postgres from 'postgres';
import { newId } from '../src/domain/ids';
import type { MerchantEvent } from '../src/domain/merchantEvents';
import { demoMerchantId, generateSecret } from '../src/services/merchants';
import { startWorkflow } from '../src/services/workflowStarts';
import {
  merchantNotificationWorkflow,
  merchantNotificationWorkflowId,
} from '../src/workflows/contracts/merchantNotification';
import { cpuMsPer, cpuSnapshot } from './cpu';
import {
  retryLateness,
  startFlakyMerchant,
  triesUntilOutcome,
  type FlakyMerchant,
} from './flakyMerchant';
import { throwawayDatabase, type Stack } from './stack';
import { closedLoop, latency, sleep, wallNow, type Latency } from './stats';

export interface NotifyResult {
  events: number;
  retrySeconds: number[];
  concurrency: number;
  startFailures: number;
  startErrors: string[];
  /** From the first start to the last start answered. */
  startSeconds: number;
  startsPerSecond: number;
  /** From the first start to the last try's answer (the last outcome decided). */
  seconds: number;
  /** 2xx answers of the merchant per second over `seconds`. */
  deliveriesPerSecond: number;
  triesPerSecond: number;
  /** Tries as the merchant counted them, and as the books recorded them. */
  tries: number;
  triesInBooks: number;
  /** Events the merchant answered 2xx. */
  deliveredAtMerchant: number;
  /** The events' status in the books when the wait ended; notRecorded: no row yet. */
  outcomes: { delivered: number; failed: number; pending: number; notRecorded: number };
  /** Events the endpoint's rule fails on every try the schedule allows. */
  expectedFailed: number;
  /** Finished events whose tries at the merchant are not the number the rule makes them take. */
  unexpectedTries: number;
  /** merchantNotification workflows still running when the wait ended (then terminated). */
  unfinishedWorkflows: number;
  startToFirstTryMs: Latency;
  startToDeliveredMs: Latency;
  /** Each retry's arrival minus the previous try's answer plus the schedule's delay. */
  retryLatenessMs: Latency;
  /** The same by the try it follows: "after try 1 (1 s)". */
  retryLatenessByTryMs: Record<string, Latency>;
  /** CPU each part spent per event (its tries included), from /proc. */
  cpuMsPerEvent: ReturnType<typeof cpuMsPer>;
}

/** The paid orders the events are about: only what recording an event reads, merchant and URL. */
async function seedOrders(sql: postgres.Sql, count: number, notifyUrl: string) {
  const orders = Array.from({ length: count }, (_, i) => {
    const n = String(i).padStart(8, '0');
    return {
      id: `po_N${n}`,
      merchant_id: demoMerchantId,
      merchant_order_no: `N${n}`,
      amount: 100 + (i % 9_000),
      currency: 'CNY',
      subject: 'bench',
      status: 'SUCCEEDED',
      expires_at: '2099-01-01T00:00:00Z',
      paid_at: new Date().toISOString(),
      workflow_started: true,
      notify_url: notifyUrl,
    };
  });
  for (let from = 0; from < orders.length; from += 1000) {
    await sql`insert into pay_orders ${sql(orders.slice(from, from + 1000))}`;
  }
  return orders;
}

/** How the events stand in the books. */
async function bookOutcomes(sql: postgres.Sql, events: number) {
  const rows = await sql<{ status: string; count: number }[]>`
    select status, count(*)::int as count from merchant_notifications group by status`;
  const count = (status: string) => rows.find((r) => r.status === status)?.count ?? 0;
  const recorded = rows.reduce((sum, r) => sum + r.count, 0);
  return {
    delivered: count('DELIVERED'),
    failed: count('FAILED'),
    pending: count('PENDING'),
    notRecorded: events - recorded,
  };
}

/** Ends the workflows a visibility query finds running. */
async function terminateRunning(client: Client, query: string) {
  for await (const execution of client.workflow.list({ query })) {
    await client.workflow.getHandle(execution.workflowId).terminate('bench phase notify is over');
  }
}

export async function runMerchantNotifications(
  stack: Stack,
  client: Client,
  options: {
    events: number;
    retrySeconds: number[];
    concurrency: number;
    waitSeconds: number;
    log: (line: string) => void;
  },
): Promise<NotifyResult> {
  const { retrySeconds, log } = options;
  // Books and a worker of their own: the seeded orders never meet the other phases' books, and
  // go with the database at the end.
  const books = await throwawayDatabase(
    `${stack.databaseName}_notify`,
    generateSecret('pk_bench'),
    Buffer.from(stack.env.PAYCENTER_SECRET_KEY!, 'hex'),
  );
  const taskQueue = 'notify-bench';
  let merchant: FlakyMerchant | undefined;
  let worker;
  const sql = postgres(books.url, { max: 1, onnotice: () => {} });
  const running = `TaskQueue = '${taskQueue}' AND ExecutionStatus = 'Running'`;
  try {
    merchant = await startFlakyMerchant();
    worker = await stack.start('worker', {
      TEMPORAL_TASK_QUEUE: taskQueue,
      DATABASE_URL: books.url,
    });
    const orders = await seedOrders(sql, options.events, merchant.notifyUrl);
    const events: MerchantEvent[] = orders.map((o) => ({
      id: newId('evt', Date.now(), Math.random),
      type: 'pay_order.succeeded',
      createdAt: new Date().toISOString(),
      data: {
        payOrderId: o.id,
        merchantOrderNo: o.merchant_order_no,
        status: 'SUCCEEDED',
        amount: o.amount,
        currency: o.currency,
      },
    }));

    log(`notify: ${events.length} events, ${options.concurrency} starts at a time`);
    const cpuBefore = cpuSnapshot();
    const startedAt = new Map<string, number>();
    const startErrors: string[] = [];
    let startFailures = 0;
    const firstStart = wallNow();
    await closedLoop(events.length, options.concurrency, async (i) => {
      const event = events[i]!;
      const at = wallNow();
      try {
        await startWorkflow(client, merchantNotificationWorkflow, {
          workflowId: merchantNotificationWorkflowId(event.id),
          taskQueue,
          input: { event, retrySeconds },
          reuse: 'ONCE',
        });
        startedAt.set(event.id, at);
      } catch (err) {
        startFailures += 1;
        if (startErrors.length < 5) startErrors.push(String((err as Error).message ?? err));
      }
    });
    const lastStart = wallNow();

    // However long the backlog takes, as long as events keep ending: the wait gives up only after
    // no event ended for `waitSeconds` beyond the schedule's longest delay.
    const patienceMs = (options.waitSeconds + Math.max(0, ...retrySeconds)) * 1000;
    let outcomes = await bookOutcomes(sql, startedAt.size);
    let ended = outcomes.delivered + outcomes.failed;
    let lastEnded = wallNow();
    let lastLog = wallNow();
    while (ended < startedAt.size && wallNow() - lastEnded < patienceMs) {
      if (wallNow() - lastLog > 10_000) {
        log(
          `notify: ${outcomes.delivered} delivered, ${outcomes.failed} FAILED, ${outcomes.pending} retrying, ${outcomes.notRecorded} not yet recorded`,
        );
        lastLog = wallNow();
      }
      await sleep(1000);
      outcomes = await bookOutcomes(sql, startedAt.size);
      if (outcomes.delivered + outcomes.failed > ended) lastEnded = wallNow();
      ended = outcomes.delivered + outcomes.failed;
    }
    // Each workflow completes just after its last record; visibility follows a little later.
    let unfinishedWorkflows = (await client.workflow.count(running)).count;
    for (let waited = 0; unfinishedWorkflows > 0 && waited < 30; waited++) {
      await sleep(1000);
      unfinishedWorkflows = (await client.workflow.count(running)).count;
    }
    const cpuMsPerEvent = cpuMsPer(cpuBefore, cpuSnapshot(), Math.max(1, startedAt.size));
    const triesInBooks = (
      await sql<
        { count: number }[]
      >`select count(*)::int as count from merchant_notification_deliveries`
    )[0]!.count;

    let tries = 0;
    let deliveredAtMerchant = 0;
    let expectedFailed = 0;
    let unexpectedTries = 0;
    let lastOutcome = firstStart;
    const toFirstTry: number[] = [];
    const toDelivered: number[] = [];
    const lateness: number[] = [];
    const latenessByTry = new Map<number, number[]>();
    for (const [eventId, startAt] of startedAt) {
      const seen = merchant.tries.get(eventId) ?? [];
      const expected = triesUntilOutcome(eventId, retrySeconds);
      if (!expected.delivered) expectedFailed += 1;
      tries += seen.length;
      const delivered = seen.find((t) => t.status < 300);
      const finished = delivered !== undefined || seen.length >= expected.tries;
      if (finished && seen.length !== expected.tries) unexpectedTries += 1;
      if (seen[0]) toFirstTry.push(seen[0].arrivedAt - startAt);
      if (seen.length > 0) lastOutcome = Math.max(lastOutcome, seen.at(-1)!.answeredAt);
      if (delivered) {
        deliveredAtMerchant += 1;
        toDelivered.push(delivered.arrivedAt - startAt);
      }
      for (const { afterTry, lateMs } of retryLateness(seen, retrySeconds)) {
        lateness.push(lateMs);
        const after = latenessByTry.get(afterTry) ?? [];
        latenessByTry.set(afterTry, after);
        after.push(lateMs);
      }
    }
    const seconds = (lastOutcome - firstStart) / 1000;
    const startSeconds = (lastStart - firstStart) / 1000;
    const perSecond = (n: number, s: number) => (s > 0 ? Math.round((n / s) * 10) / 10 : 0);
    return {
      events: events.length,
      retrySeconds,
      concurrency: options.concurrency,
      startFailures,
      startErrors,
      startSeconds: Math.round(startSeconds * 10) / 10,
      startsPerSecond: perSecond(startedAt.size, startSeconds),
      seconds: Math.round(seconds * 10) / 10,
      deliveriesPerSecond: perSecond(deliveredAtMerchant, seconds),
      triesPerSecond: perSecond(tries, seconds),
      tries,
      triesInBooks,
      deliveredAtMerchant,
      outcomes,
      expectedFailed,
      unexpectedTries,
      unfinishedWorkflows,
      startToFirstTryMs: latency(toFirstTry),
      startToDeliveredMs: latency(toDelivered),
      retryLatenessMs: latency(lateness),
      retryLatenessByTryMs: Object.fromEntries(
        [...latenessByTry].map(([afterTry, ms]) => [
          `after try ${afterTry} (${retrySeconds[afterTry - 1]} s)`,
          latency(ms),
        ]),
      ),
      cpuMsPerEvent,
    };
  } finally {
    // Whatever outlived the wait is this phase's own: end it before its worker goes.
    if (worker) await terminateRunning(client, running).catch((err) => console.error(err));
    await sql.end({ timeout: 5 });
    await worker?.stop();
    await merchant?.stop();
    await books.drop();
  }
}
