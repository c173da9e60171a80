// The channel notification inbox: what is acknowledged from the books without troubling the
// workflow, repeats and stale statuses arriving together (and stored by one statement), and
// notifications the hand-over queue had no room for, which the sweep hands over later: none is lost.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { and, eq, sql } from 'drizzle-orm';
import { setTimeout as delay } from 'node:timers/promises';
import {
  releaseSweepHolds,
  storeNotifications,
  takeForSweep,
  type IncomingRow,
} from '../../src/db/books/notificationInbox';
import { channelNotifications } from '../../src/db/schema';
import type { ChannelFact } from '../../src/domain/payOrder';
import { createLogger } from '../../src/log';
import type { Corrections, NewsHandling } from '../../src/services/corrections';
import { createNotificationInbox, type InboxLimits } from '../../src/services/inbox';
import { notify } from '../../src/workflows/contracts/payment';
import { expectMoneyConserved } from '../support/money';
import {
  payerPays,
  payingOrder,
  postSandboxNotification,
  reached,
  sandboxNotification,
  unique,
} from '../support/payments';
import { eventually, startTestSystem, type TestSystem } from '../support/system';

/** Only notifications settle orders here: the first query comes after ten minutes. */
const onlyNotifications = { QUERY_SCHEDULE_SECONDS: '600' };
/** One statement storing notifications at a time: those arriving together share the next one. */
const storedTogether = { INBOX_STORE_CONCURRENCY: '1' };

let system: TestSystem;
/** A hand-over queue with no room at all: every notification waits in the books for the sweep. */
let sweepOnly: TestSystem;
/** Books of its own, whose API never sweeps: the test's own inboxes do, as other API processes. */
let sharedBooks: TestSystem;

before(async () => {
  [system, sweepOnly, sharedBooks] = await Promise.all([
    startTestSystem({ env: { ...onlyNotifications, ...storedTogether } }),
    startTestSystem({
      env: {
        ...onlyNotifications,
        INBOX_QUEUE_LIMIT: '0',
        INBOX_SWEEP_SECONDS: '1',
        INBOX_SWEEP_GRACE_SECONDS: '3',
      },
    }),
    startTestSystem({
      ownDatabase: true,
      env: { ...onlyNotifications, INBOX_SWEEP_SECONDS: '3600' },
    }),
  ]);
});
after(async () => {
  await system?.stop();
  await sweepOnly?.stop();
  await sharedBooks?.stop();
});

const AMOUNT = 3_300;
const tea = () => ({ prefix: 'inbox', amount: AMOUNT, subject: 'Oolong tea' });

/** How many `notify` signals the pay order's workflow has received. */
async function notifySignals(on: TestSystem, payOrderId: string): Promise<number> {
  const { events } = await on.temporal.workflow.getHandle(payOrderId).fetchHistory();
  return (events ?? []).filter(
    (e) => e.workflowExecutionSignaledEventAttributes?.signalName === notify.name,
  ).length;
}

/** The inbox row of one notification (by its notification ID). */
async function stored(on: TestSystem, notifyId: string) {
  const [row] = await on.database.db
    .select()
    .from(channelNotifications)
    .where(
      and(
        eq(channelNotifications.channel, 'sandbox'),
        eq(channelNotifications.dedupeKey, notifyId),
      ),
    );
  return row;
}

/** The channel notifies one of its orders (signed as the sandbox signs): 200 `success`. */
async function channelNotifies(
  on: TestSystem,
  notification: Parameters<typeof sandboxNotification>[0],
): Promise<void> {
  const answer = await postSandboxNotification(on, sandboxNotification(notification));
  assert.equal(answer.status, 200);
  assert.equal(await answer.text(), 'success');
}

/** An order the payer paid at the channel, whose notifications are the test's to send. */
async function paidUnheard() {
  const { id, outTradeNo } = await payingOrder(system, tea());
  await system.simulator('POST', `/control/payments/${outTradeNo}/faults`, {
    dropNotifications: true,
  });
  await payerPays(system, outTradeNo);
  const { trade_no: tradeNo } = await system.trade(outTradeNo);
  return { id, outTradeNo, tradeNo: tradeNo as string };
}

describe('the notification inbox', () => {
  it('acknowledges a notification that cannot change the order from the books, without a signal', async () => {
    const { id, outTradeNo } = await payingOrder(system, tea());
    const waiting = unique('waiting');
    await channelNotifies(system, {
      notifyId: waiting,
      outTradeNo,
      tradeNo: '',
      amount: AMOUNT,
      tradeStatus: 'WAIT_BUYER_PAY',
    });
    assert.equal((await stored(system, waiting))?.status, 'NOTHING_NEW');
    assert.equal((await system.payOrder(id)).status, 'PAYING');

    // The payer pays; the channel's own notification is handed over and pays the order.
    await payerPays(system, outTradeNo);
    await reached(system, id, 'SUCCEEDED');
    const [delivered] = await eventually(async () => {
      const rows = await system.inbox('sandbox', outTradeNo);
      const handed = rows.filter((r) => r.status === 'DELIVERED');
      return handed.length > 0 && handed;
    });
    assert.match(delivered!.rawBody, /TRADE_SUCCESS/);

    // Stale statuses after the success: acknowledged from the books as well.
    const { trade_no: tradeNo } = await system.trade(outTradeNo);
    const stale = unique('stale');
    await channelNotifies(system, {
      notifyId: stale,
      outTradeNo,
      tradeNo,
      amount: AMOUNT,
      tradeStatus: 'WAIT_BUYER_PAY',
    });
    assert.equal((await stored(system, stale))?.status, 'ALREADY_PAID');
    assert.equal(await notifySignals(system, id), 1, 'the workflow heard only the success');
    await expectMoneyConserved(system, id);
  });

  it('pays the order once when its success, repeats of it and a stale status arrive together', async () => {
    const { id, outTradeNo, tradeNo } = await paidUnheard();
    const success = unique('success');
    const ids = [success, success, unique('resent'), unique('resent'), unique('waiting')];
    await Promise.all(
      ids.map((notifyId, i) =>
        channelNotifies(system, {
          notifyId,
          outTradeNo,
          tradeNo,
          amount: AMOUNT,
          tradeStatus: i === ids.length - 1 ? 'WAIT_BUYER_PAY' : 'TRADE_SUCCESS',
        }),
      ),
    );

    const paid = await reached(system, id, 'SUCCEEDED');
    assert.deepEqual(
      paid.attempts.map((a: { status: string }) => a.status),
      ['SUCCEEDED'],
    );
    assert.deepEqual(paid.refunds, []);
    assert.equal(paid.needsAttention, false);
    const rows = await eventually(async () => {
      const all = await system.inbox('sandbox', outTradeNo);
      return all.every((r) => r.status !== 'RECEIVED') && all;
    });
    assert.equal(rows.length, 4, 'the repeat of the same notification is stored once');
    for (const row of rows) {
      assert.ok(['DELIVERED', 'ALREADY_PAID', 'NOTHING_NEW'].includes(row.status), row.status);
    }
    await expectMoneyConserved(system, id);
  });

  it('hands a storm of repeats of one success to the workflow with fewer signals than repeats', async () => {
    const { id, outTradeNo, tradeNo } = await paidUnheard();
    // The channel resends its success, each time under a new notification ID, all at once.
    await Promise.all(
      Array.from({ length: 20 }, () =>
        channelNotifies(system, {
          notifyId: unique('resent'),
          outTradeNo,
          tradeNo,
          amount: AMOUNT,
          tradeStatus: 'TRADE_SUCCESS',
        }),
      ),
    );

    await reached(system, id, 'SUCCEEDED');
    const rows = await eventually(async () => {
      const all = await system.inbox('sandbox', outTradeNo);
      return all.every((r) => r.status !== 'RECEIVED') && all;
    });
    assert.equal(rows.length, 20);
    const delivered = rows.filter((r) => r.status === 'DELIVERED').length;
    assert.equal(delivered + rows.filter((r) => r.status === 'ALREADY_PAID').length, 20);
    assert.ok(delivered >= 2, `stored before the books knew of the payment: ${delivered}`);
    // Those waiting for or riding on a signal of the same success went with it.
    assert.ok((await notifySignals(system, id)) < delivered);
    await expectMoneyConserved(system, id);
  });
});

/** A verified sandbox notification as the inbox stores it, under a notification ID of its own. */
const row = (dedupeKey: string, fact: Omit<ChannelFact, 'source'>): IncomingRow => ({
  id: unique('ntf'),
  channel: 'sandbox',
  dedupeKey,
  headers: {},
  rawBody: JSON.stringify(fact),
  fact: { ...fact, source: 'notify' },
});

describe('notifications stored by one statement', () => {
  it('answers each as stored, in order, a repeat within the statement sharing its row', async () => {
    const { id, outTradeNo } = await payingOrder(system, tea());
    const success = row(unique('success'), { outTradeNo, status: 'SUCCEEDED', amount: AMOUNT });
    const waiting = row(unique('waiting'), { outTradeNo, status: 'PENDING' });
    const stranger = row(unique('stranger'), { outTradeNo: unique('T'), status: 'SUCCEEDED' });
    const repeat = { ...success, id: unique('ntf') };

    const stored = await storeNotifications(system.database.db, [
      success,
      waiting,
      stranger,
      repeat,
    ]);

    assert.deepEqual(
      stored.map((s) => s.status),
      ['RECEIVED', 'NOTHING_NEW', 'UNMATCHED', 'RECEIVED'],
    );
    assert.equal(stored[0]!.payOrderId, id);
    assert.ok(stored[0]!.attemptId, 'the channel order of ours is named');
    assert.equal(stored[2]!.payOrderId, undefined);
    assert.equal(stored[3]!.id, stored[0]!.id, 'the repeat is the same row');
    const rows = await system.inbox('sandbox', outTradeNo);
    assert.equal(rows.length, 2, 'the success once, the waiting status once');
  });
});

describe('notifications stored by two statements at once', () => {
  it('stores the same repeats in either order without a deadlock', async () => {
    // A channel repeating notifications to two API processes: each one's statement holds the same
    // keys, in the order they happened to arrive there.
    const keys = Array.from({ length: 200 }, () => unique('repeat'));
    const arrival = (order: string[]): IncomingRow[] =>
      order.map((key) => row(key, { outTradeNo: key, status: 'SUCCEEDED', amount: AMOUNT }));
    const { db } = system.database;
    await storeNotifications(db, arrival(keys));

    // Both statements meet on one row held until both wait for a lock, so both are under way at
    // once: each has locked the rows it reached before then.
    const middle = keys[keys.length / 2]!;
    const both = await db.transaction(async (tx) => {
      await tx
        .select({ id: channelNotifications.id })
        .from(channelNotifications)
        .where(
          and(
            eq(channelNotifications.channel, 'sandbox'),
            eq(channelNotifications.dedupeKey, middle),
          ),
        )
        .for('update');
      const statements = Promise.allSettled([
        storeNotifications(db, arrival(keys)),
        storeNotifications(db, arrival([...keys].reverse())),
      ]);
      await eventually(
        async () => {
          // PostgreSQL (this system's database): the driver answers the rows.
          const rows: unknown = await db.execute(sql`select count(*)::int as n
            from pg_stat_activity
            where datname = current_database() and wait_event_type = 'Lock'
              and query like '%insert into channel_notifications%'`);
          const [waiting] = rows as { n: number }[];
          return waiting!.n >= 2;
        },
        { timeoutMs: 10_000, intervalMs: 20, what: 'both statements to wait for a lock' },
      );
      // Wrapped: returned bare, the transaction would wait for them, and they for its lock.
      return { statements };
    });

    // A failed statement answers PostgreSQL's own error ("deadlock detected"), not drizzle's query.
    const answers = (await both.statements).map((s) =>
      s.status === 'fulfilled'
        ? s.value.every((a) => a.status === 'UNMATCHED')
        : String((s.reason as { cause?: unknown }).cause ?? s.reason),
    );
    assert.deepEqual(answers, [true, true]);
  });
});

describe('the notification inbox when its hand-over queue is full', () => {
  it('acknowledges and stores each notification, and the sweep hands every one over later', async () => {
    const orders = await Promise.all([1, 2, 3].map(() => payingOrder(sweepOnly, tea())));
    await Promise.all(orders.map(({ outTradeNo }) => payerPays(sweepOnly, outTradeNo)));

    // Acknowledged (the simulator stops notifying) and stored, not handed over yet.
    for (const { id, outTradeNo } of orders) {
      const [row] = await eventually(async () => {
        const rows = await sweepOnly.inbox('sandbox', outTradeNo);
        return rows.length > 0 && rows;
      });
      assert.equal(row!.status, 'RECEIVED');
      assert.equal((await sweepOnly.payOrder(id)).status, 'PAYING');
    }

    for (const { id, outTradeNo } of orders) {
      await reached(sweepOnly, id, 'SUCCEEDED');
      const [row] = await eventually(async () => {
        const rows = await sweepOnly.inbox('sandbox', outTradeNo);
        return rows[0]?.status === 'DELIVERED' && rows;
      });
      assert.equal(row!.deliveries, 1);
      const trade = await sweepOnly.trade(outTradeNo);
      assert.deepEqual(
        trade.notifications.map((n: { outcome: string }) => n.outcome),
        ['acknowledged'],
        'the channel was answered at once, not made to retry',
      );
      await expectMoneyConserved(sweepOnly, id);
    }
  });
});

/**
 * The inbox of another API process on `sharedBooks`, handing each notification over with
 * `handOver` (standing in for the signal).
 */
function anotherApiInbox(handOver: (payOrderId: string) => Promise<NewsHandling>) {
  const limits: InboxLimits = {
    storeConcurrency: 1,
    storeBatch: 10,
    queueLimit: 10,
    concurrency: 4,
    batch: 10,
    sweepGraceMs: 1_000,
    sweepHoldMs: 60_000,
  };
  const corrections = {
    reportChannelFact: (news: { payOrderId: string }) => handOver(news.payOrderId),
  } as unknown as Corrections;
  const log = createLogger('silent');
  return createNotificationInbox({ db: sharedBooks.database.db, log, corrections, limits });
}

/**
 * Successes acknowledged for a paying order a minute ago and never handed over (their API stopped),
 * `count` of them, each with a trade number of its own (so none rides on another's hand-over).
 */
async function waitingSuccesses(count = 1) {
  const { id, outTradeNo } = await payingOrder(sharedBooks, tea());
  const minuteAgo = Date.now() - 60_000;
  await sharedBooks.database.db.insert(channelNotifications).values(
    Array.from({ length: count }, (_, n) => {
      const dedupeKey = unique('waiting');
      const fact: ChannelFact = {
        outTradeNo,
        status: 'SUCCEEDED',
        amount: AMOUNT,
        channelTradeNo: `${outTradeNo}-${n}`,
        source: 'notify',
      };
      return {
        id: `ntf_${dedupeKey}`,
        channel: 'sandbox',
        dedupeKey,
        outTradeNo,
        payOrderId: id,
        headers: {},
        rawBody: '{}',
        fact,
        status: 'RECEIVED',
        // All at the same moment, as one statement stores them: the sweep's pages end inside ties.
        receivedAt: new Date(minuteAgo),
      };
    }),
  );
  const rows = () => sharedBooks.inbox('sandbox', outTradeNo);
  return { id, row: async () => (await rows())[0]!, rows };
}

const unreachable = async (): Promise<NewsHandling> => {
  throw new Error('Temporal is unreachable');
};

/** A hand-over that goes through after `delayMs`, noting the pay order it was for in `noted`. */
function noting(noted: string[], delayMs = 0) {
  return async (payOrderId: string): Promise<NewsHandling> => {
    noted.push(payOrderId);
    await delay(delayMs);
    return 'SIGNALLED';
  };
}

describe('the notification inbox swept by two API processes sharing the books', () => {
  it('hands a waiting notification over once when both sweep at once', async () => {
    const { id, row } = await waitingSuccesses();
    const handedOver: string[] = [];
    const slowly = noting(handedOver, 300);
    const [first, second] = [anotherApiInbox(slowly), anotherApiInbox(slowly)];

    const swept = await Promise.all([first.handOverPending(), second.handOverPending()]);
    assert.deepEqual(handedOver, [id]);
    assert.deepEqual(
      swept.sort(),
      [0, 1],
      'one sweep took the notification, the other passed it by',
    );
    const stored = await row();
    assert.equal(stored.status, 'DELIVERED');
    assert.equal(stored.deliveries, 1);
    await Promise.all([first.drain(), second.drain()]);
  });

  it("lets go of a notification whose hand-over failed: another process's next sweep takes it", async () => {
    const { id, row } = await waitingSuccesses();
    const failing = anotherApiInbox(unreachable);
    const handedOver: string[] = [];
    const working = anotherApiInbox(noting(handedOver));

    assert.equal(await failing.handOverPending(), 1);
    const left = await row();
    assert.equal(left.status, 'RECEIVED');
    assert.equal(left.sweptUntil, null, 'not held once the sweep is over');
    assert.equal(await working.handOverPending(), 1);
    assert.deepEqual(handedOver, [id]);
    const stored = await row();
    assert.equal(stored.status, 'DELIVERED');
    assert.equal(stored.deliveries, 1);
    await Promise.all([failing.drain(), working.drain()]);
  });

  it('passes by what a stopped process took until its hold lapses, then takes it', async () => {
    const { id, row } = await waitingSuccesses();
    // A process took the page and stopped before it handed it over or let go of it.
    const {
      entries: [taken],
    } = await takeForSweep(sharedBooks.database.db, {
      before: new Date(),
      limit: 10,
      holdMs: 60_000,
    });
    assert.equal(taken?.payOrderId, id);
    const handedOver: string[] = [];
    const working = anotherApiInbox(noting(handedOver));

    assert.equal(await working.handOverPending(), 0, 'held by the stopped process');
    await sharedBooks.database.db
      .update(channelNotifications)
      .set({ sweptUntil: sql`now() - interval '1 second'` })
      .where(eq(channelNotifications.id, taken.id));
    assert.equal(await working.handOverPending(), 1, 'the hold lapsed');
    assert.deepEqual(handedOver, [id]);
    assert.equal((await row()).deliveries, 1);
    await working.drain();
  });

  it("keeps its hold on what its own queue is still handing over: another process's sweep passes it by", async () => {
    const { id, outTradeNo } = await payingOrder(sharedBooks, tea());
    let letThrough!: () => void;
    const temporalSlow = new Promise<void>((resolve) => (letThrough = resolve));
    let signals = 0;
    const busy = anotherApiInbox(async () => {
      signals += 1;
      await temporalSlow;
      return 'SIGNALLED';
    });
    const other = anotherApiInbox(async () => {
      signals += 1;
      return 'SIGNALLED';
    });
    const fact: ChannelFact = {
      outTradeNo,
      status: 'SUCCEEDED',
      amount: AMOUNT,
      channelTradeNo: `${outTradeNo}-own`,
      source: 'notify',
    };
    const verdict = await busy.receive(
      { name: 'sandbox', notificationHeaders: [] },
      { headers: {}, rawBody: '{}' },
      { dedupeKey: unique('own'), fact },
    );
    assert.equal(verdict, 'accepted');
    // Past the sweeps' grace (1 s) while its hand-over still waits for Temporal.
    await delay(1_500);

    assert.equal(await busy.handOverPending(), 0, 'its own queue is handing it over');
    assert.equal(await other.handOverPending(), 0, 'held by the process whose queue has it');
    letThrough();
    const [stored] = await eventually(async () => {
      const rows = await sharedBooks.inbox('sandbox', outTradeNo);
      return rows[0]?.status === 'DELIVERED' && rows;
    });
    assert.equal(stored!.deliveries, 1);
    assert.equal(stored!.payOrderId, id);
    assert.equal(signals, 1);
    await Promise.all([busy.drain(), other.drain()]);
  });

  it('lets go of its own hold only, not of one another sweep put on after it lapsed', async () => {
    const { row } = await waitingSuccesses();
    const db = sharedBooks.database.db;
    const page = await takeForSweep(db, { before: new Date(), limit: 10, holdMs: 60_000 });
    const [taken] = page.entries;
    assert.ok(taken);
    // This page's hold lapsed while it was handed over, and another sweep took it again.
    await db
      .update(channelNotifications)
      .set({ sweptUntil: sql`now() + interval '1 minute'` })
      .where(eq(channelNotifications.id, taken.id));
    const theirs = (await row()).sweptUntil;

    await releaseSweepHolds(db, { ids: [taken.id], heldUntil: page.heldUntil });
    assert.deepEqual((await row()).sweptUntil, theirs, "the other sweep's hold stands");
  });

  it(
    'walks a backlog whose hand-overs all fail page by page, trying each once',
    { timeout: 60_000 },
    async () => {
      const { rows } = await waitingSuccesses(25);
      let tries = 0;
      const failing = anotherApiInbox(async () => {
        tries += 1;
        return unreachable();
      });

      assert.equal(await failing.handOverPending(), 25, 'three pages of 10');
      assert.equal(tries, 25);
      for (const left of await rows()) {
        assert.equal(left.status, 'RECEIVED');
        assert.equal(left.sweptUntil, null);
      }
      await failing.drain();
    },
  );
});
