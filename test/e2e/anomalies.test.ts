// The classic payment anomalies, end to end, checked the way a payment engineer checks them: the
// merchant API's answers, the pay order as GET /v1/pay-orders/{id} shows it, and the channel's
// own books at the simulator. After each scenario the money invariant holds at the channel: for the
// order's channel orders, successes minus refunds equal the order amount if it SUCCEEDED, else 0.
// @cluster: double payment, repeated and stale notifications, another amount, expiry, queries that fail.
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { eq } from 'drizzle-orm';
import { channelNotifications } from '../../src/db/schema';
import { activityResults } from '../support/history';
import { expectMoneyConserved } from '../support/money';
import {
  createPayOrderForPayer,
  openChannelOrder,
  payerPays,
  payingOrder,
  payOrderBody,
  unique,
  type OrderRequest,
} from '../support/payments';
import { eventually, startTestSystem, type Answer, type TestSystem } from '../support/system';

/** Notifications and expiry do the work here: the first active query comes only after 10 s. */
let system: TestSystem;
/**
 * Queries every second and a 2 s channel timeout, for the query-timeout scenario. It has its own
 * system because with queries every second the expiry scenario would mostly be settled by a query
 * rather than by the close at expiry it is about.
 */
let fastQueries: TestSystem;

before(async () => {
  [system, fastQueries] = await Promise.all([
    startTestSystem(),
    startTestSystem({
      env: {
        QUERY_SCHEDULE_SECONDS: '1',
        QUERY_ATTENTION_AFTER_FAILURES: '2',
        QUERY_RARE_SECONDS: '2',
        CHANNEL_TIMEOUT_MS: '2000',
      },
    }),
  ]);
});
after(async () => {
  await system?.stop();
  await fastQueries?.stop();
});
beforeEach(async () => {
  for (const s of [system, fastQueries]) await s.simulator('DELETE', '/control/faults');
});

const AMOUNT = 6_600;

interface AttemptView {
  id: string;
  outTradeNo: string;
  method: string;
  status: string;
}
interface RefundView {
  amount: number;
  reason: string;
  status: string;
}
interface OrderView {
  id: string;
  status: string;
  needsAttention: boolean;
  amount: number;
  expiresAt: string;
  attempts: AttemptView[];
  refunds: RefundView[];
}
interface NotificationLog {
  notifyId: string;
  tradeStatus: string;
  outcome: string;
}

function newOrder(scenario: string, expiresInSeconds = 300): OrderRequest {
  const merchantOrderNo = unique(`anomaly-${scenario}`);
  return {
    prefix: `anomaly-${scenario}`,
    merchantOrderNo,
    amount: AMOUNT,
    // Unique, so the simulator's trade list can be filtered down to this scenario's trades.
    subject: `Anomaly ${merchantOrderNo}`,
    expiresInSeconds,
  };
}

/** The channel the scenarios run on; every channel's simulated face shares the payer and the faults. */
interface ChannelUnderTest {
  channel: string;
  /** The first is the default; a second, where the channel has one, is "another method". */
  methods: [string, ...string[]];
  /** Whether the channel also notifies non-final statuses (WAIT_BUYER_PAY), to be reordered. */
  notifiesPending: boolean;
}
let under: ChannelUnderTest = {
  channel: 'sandbox',
  methods: ['page', 'qr'],
  notifiesPending: true,
};

function payBody(method = under.methods[0]) {
  return { channel: under.channel, method };
}

const view = async (s: TestSystem, id: string): Promise<OrderView> =>
  (await s.api('GET', `/v1/pay-orders/${id}`)).body;

async function untilStatus(s: TestSystem, id: string, status: string): Promise<OrderView> {
  return eventually(
    async () => {
      const v = await view(s, id);
      return v.status === status && v;
    },
    { what: `${id} ${status}` },
  );
}

/**
 * The payer opens the pay page (scans the QR code) and leaves without paying: an Alipay QR trade
 * exists at the channel, and can be closed there, only from then on.
 */
async function payerLooks(s: TestSystem, outTradeNo: string) {
  assert.equal((await fetch(`${s.simulatorUrl}/pay/${outTradeNo}`)).status, 200);
}

const trade = async (s: TestSystem, outTradeNo: string) =>
  (await s.simulator('GET', `/control/payments/${outTradeNo}`)).body;

const tradesFor = async (s: TestSystem, subject: string) =>
  (await s.simulator('GET', '/control/payments')).body.items.filter(
    (t: { subject: string }) => t.subject === subject,
  );

const logOf = (notifications: NotificationLog[]) =>
  notifications.map((n) => [n.tradeStatus, n.outcome]);

/** Waits for at least `count` notification deliveries to be logged at the simulator. */
async function deliveries(s: TestSystem, outTradeNo: string, count: number) {
  return eventually(
    async () => {
      const log: NotificationLog[] = (await trade(s, outTradeNo)).notifications;
      return log.length >= count && log;
    },
    { what: `${count} notification deliveries for ${outTradeNo}` },
  );
}

/** Asks the channel now; the sync also applies every fact the workflow has received before it. */
async function sync(s: TestSystem, id: string): Promise<OrderView> {
  const answer = await s.api('POST', `/v1/pay-orders/${id}/sync`);
  assert.equal(answer.status, 200, JSON.stringify(answer.body));
  return answer.body;
}

async function exceptionIds(s: TestSystem): Promise<string[]> {
  const answer = await s.api('GET', '/ops/exceptions?limit=100', undefined, {
    authorization: `Bearer ${s.opsKey}`,
  });
  assert.equal(answer.status, 200);
  return answer.body.items.map((item: { id: string }) => item.id);
}

function assertProblem(answer: Answer, code: string) {
  assert.equal(answer.status, 409, JSON.stringify(answer.body));
  assert.match(answer.contentType, /^application\/problem\+json/);
  assert.equal(answer.body.code, code);
}

const channelsUnderTest: ChannelUnderTest[] = [
  { channel: 'sandbox', methods: ['page', 'qr'], notifiesPending: true },
  // QR first: an Alipay page order exists at the channel only once the payer opens it.
  { channel: 'alipay', methods: ['qr', 'page'], notifiesPending: true },
  // WeChat Pay notifies successes only.
  { channel: 'wechatpay', methods: ['native'], notifiesPending: false },
];

for (const channel of channelsUnderTest) {
  describe(`payment anomalies on ${channel.channel}`, () => {
    before(() => {
      under = channel;
    });

    it('1. fifty concurrent creates and pays make one pay order and one channel order', async () => {
      const body = payOrderBody(newOrder('concurrent'));
      const creates = await Promise.all(
        Array.from({ length: 50 }, () => system.api('POST', '/v1/pay-orders', body)),
      );
      assert.deepEqual(
        creates.map((c) => c.status).sort(),
        [...Array<number>(49).fill(200), 201],
        'one create makes the order, the others find it',
      );
      const ids = new Set(creates.map((c) => c.body.id as string));
      assert.equal(ids.size, 1);
      const [id] = [...ids] as [string];

      const pays = await Promise.all(
        Array.from({ length: 50 }, () => system.api('POST', `/v1/pay-orders/${id}/pay`, payBody())),
      );
      const refused = pays.filter((p) => p.status !== 200);
      assert.deepEqual(refused, [], 'every concurrent pay is answered with the open attempt');
      const attempts = new Set(pays.map((p) => p.body.attempt.id as string));
      assert.equal(attempts.size, 1, 'all pay answers name the same attempt');
      const [attempt] = pays.map((p) => p.body.attempt as AttemptView);

      const paying = await view(system, id);
      assert.equal(paying.status, 'PAYING');
      assert.deepEqual(
        paying.attempts.map((a) => a.id),
        [attempt!.id],
      );
      const atChannel = await tradesFor(system, body.subject);
      assert.deepEqual(
        atChannel.map((t: { out_trade_no: string }) => t.out_trade_no),
        [attempt!.outTradeNo],
        'the channel knows exactly one trade for the order',
      );

      await payerPays(system, attempt!.outTradeNo);
      await untilStatus(system, id, 'SUCCEEDED');
      await expectMoneyConserved(system, id);
    });

    it('2. paying a paid order again (with another method where there is one) is refused ALREADY_PAID', async () => {
      const order = newOrder('paid-twice');
      const { id, attempt } = await payingOrder(system, order, payBody());
      await payerPays(system, attempt.outTradeNo);
      await untilStatus(system, id, 'SUCCEEDED');

      const another = under.methods[1] ?? under.methods[0];
      const again = await system.api('POST', `/v1/pay-orders/${id}/pay`, payBody(another));
      assertProblem(again, 'ALREADY_PAID');
      const paid = await view(system, id);
      assert.equal(paid.status, 'SUCCEEDED');
      assert.deepEqual(
        paid.attempts.map((a) => [a.id, a.method, a.status]),
        [[attempt.id, under.methods[0], 'SUCCEEDED']],
      );
      assert.equal((await tradesFor(system, order.subject)).length, 1, 'no second channel order');
      await expectMoneyConserved(system, id);
    });

    it('3a. duplicate notifications pay the order once', async () => {
      await system.simulator('POST', '/control/faults', { duplicateNotifications: true });
      const { id, attempt } = await payingOrder(system, newOrder('duplicates'), payBody());
      await payerPays(system, attempt.outTradeNo);

      const log = await deliveries(system, attempt.outTradeNo, 2);
      assert.deepEqual(logOf(log), [
        ['TRADE_SUCCESS', 'acknowledged'],
        ['TRADE_SUCCESS', 'acknowledged'],
      ]);
      assert.equal(log[0]!.notifyId, log[1]!.notifyId, 'the same notification, twice');
      const inbox = await system.database.db
        .select()
        .from(channelNotifications)
        .where(eq(channelNotifications.outTradeNo, attempt.outTradeNo));
      assert.equal(inbox.length, 1, 'a repeat is stored once');

      const paid = await sync(system, id);
      assert.equal(paid.status, 'SUCCEEDED');
      assert.equal(paid.needsAttention, false);
      assert.deepEqual(
        paid.attempts.map((a) => a.status),
        ['SUCCEEDED'],
      );
      assert.deepEqual(paid.refunds, []);
      await expectMoneyConserved(system, id);
    });

    if (channel.notifiesPending) {
      it('3b. a stale WAIT_BUYER_PAY after the success moves nothing back', async () => {
        await system.simulator('POST', '/control/faults', { reorderNotifications: true });
        const { id, attempt } = await payingOrder(system, newOrder('reordered'), payBody());
        await payerPays(system, attempt.outTradeNo);

        // The simulator sends the stale status only once the success was acknowledged.
        const log = await deliveries(system, attempt.outTradeNo, 2);
        assert.deepEqual(logOf(log), [
          ['TRADE_SUCCESS', 'acknowledged'],
          ['WAIT_BUYER_PAY', 'acknowledged'],
        ]);

        // The sync runs after the workflow has applied the stale notification it received before.
        const paid = await sync(system, id);
        assert.equal(paid.status, 'SUCCEEDED');
        assert.equal(paid.needsAttention, false);
        assert.deepEqual(
          paid.attempts.map((a) => a.status),
          ['SUCCEEDED'],
        );
        assert.deepEqual(paid.refunds, []);
        await expectMoneyConserved(system, id);
      });
    }

    it('4. a payment of another amount does not pay the order: it goes back to the payer, flagged', async () => {
      const { id, attempt } = await payingOrder(system, newOrder('amount-mismatch'), payBody());
      await payerPays(system, attempt.outTradeNo, AMOUNT - 100);

      const refunded = await eventually(
        async () => {
          const v = await view(system, id);
          return v.needsAttention && v.refunds[0]?.status === 'SUCCEEDED' && v;
        },
        { what: `${id} refunded and flagged` },
      );
      assert.equal(refunded.status, 'PAYING');
      assert.deepEqual(
        refunded.attempts.map((a) => a.status),
        ['AMOUNT_MISMATCH'],
      );
      assert.deepEqual(
        refunded.refunds.map((r) => [r.amount, r.reason]),
        [[AMOUNT - 100, 'AMOUNT_MISMATCH']],
      );
      assert.ok((await exceptionIds(system)).includes(id), 'listed for an operator');

      const atChannel = await trade(system, attempt.outTradeNo);
      assert.equal(atChannel.trade_status, 'TRADE_SUCCESS');
      assert.equal(atChannel.total_amount, AMOUNT - 100);
      assert.equal(atChannel.requested_amount, AMOUNT);
      assert.deepEqual(logOf(atChannel.notifications), [['TRADE_SUCCESS', 'acknowledged']]);

      // Nothing is open to ask about: sync answers the books, and the order stays unpaid.
      const synced = await sync(system, id);
      assert.equal(synced.status, 'PAYING');
      assert.equal(synced.needsAttention, true);
      await expectMoneyConserved(system, id);
    });

    it('5. an unpaid order expires: CLOSED here and at the channel', async () => {
      const { id, attempt } = await payingOrder(system, newOrder('expired', 3), payBody());
      await payerLooks(system, attempt.outTradeNo);

      const closed = await untilStatus(system, id, 'CLOSED');
      assert.equal(closed.needsAttention, false);
      assert.deepEqual(
        closed.attempts.map((a) => a.status),
        ['CLOSED'],
      );
      const atChannel = await trade(system, attempt.outTradeNo);
      assert.equal(atChannel.trade_status, 'TRADE_CLOSED', 'paycenter closed it at the channel');
      assert.ok(atChannel.closed_at);
      assert.deepEqual(atChannel.notifications, []);

      assertProblem(
        await system.api('POST', `/v1/pay-orders/${id}/pay`, payBody()),
        'ORDER_CLOSED',
      );
      await expectMoneyConserved(system, id);
    });

    it('6. a last-second payment with a lost notification is found by the close at expiry', async () => {
      const order = await createPayOrderForPayer(system, newOrder('last-second', 4));
      const attempt = await openChannelOrder(system, order.id, payBody());
      const faults = await system.simulator(
        'POST',
        `/control/payments/${attempt.outTradeNo}/faults`,
        {
          dropNotifications: true,
        },
      );
      assert.deepEqual(faults.body, { dropNotifications: true });

      const expiresAtMs = Date.parse(order.expiresAt);
      assert.ok(Date.now() < expiresAtMs - 1_500, 'the scenario needs time before expiry');
      await sleep(expiresAtMs - 1_000 - Date.now());
      await payerPays(system, attempt.outTradeNo);

      const settled = await eventually(
        async () => {
          const v = await view(system, order.id);
          return v.status !== 'PAYING' && v;
        },
        { what: `${order.id} settled at expiry` },
      );
      assert.equal(settled.status, 'SUCCEEDED', 'a paid order is not closed');
      assert.equal(settled.needsAttention, false);
      assert.deepEqual(
        settled.attempts.map((a) => a.status),
        ['SUCCEEDED'],
      );
      assert.deepEqual(settled.refunds, []);
      const atChannel = await trade(system, attempt.outTradeNo);
      assert.equal(atChannel.trade_status, 'TRADE_SUCCESS');
      assert.equal(atChannel.closed_at, undefined);
      assert.deepEqual(logOf(atChannel.notifications), [['TRADE_SUCCESS', 'dropped (fault)']]);
      // The close at expiry is how paycenter learnt it: the channel refused it as already paid.
      const closes = await activityResults(system.temporal, order.id, 'closeChannelOrder');
      assert.deepEqual(
        closes.map((c) => (c as { kind: string }).kind),
        ['alreadyPaid'],
      );
      await expectMoneyConserved(system, order.id);
    });

    it('7. queries that time out flag the order; it settles once the channel answers', async () => {
      const s = fastQueries;
      const { id, attempt } = await payingOrder(s, newOrder('query-timeouts'), payBody());
      const faultsPath = `/control/payments/${attempt.outTradeNo}/faults`;
      // Longer than the adapter's CHANNEL_TIMEOUT_MS (2 s): every query times out.
      const faults = { dropNotifications: true, slowQueriesMs: 5_000 };
      assert.deepEqual((await s.simulator('POST', faultsPath, faults)).body, faults);
      await payerPays(s, attempt.outTradeNo);

      const flagged = await eventually(
        async () => {
          const v = await view(s, id);
          return v.needsAttention && v;
        },
        { what: `${id} needs attention` },
      );
      assert.equal(flagged.status, 'PAYING');
      assert.deepEqual(
        flagged.attempts.map((a) => a.status),
        ['PENDING'],
      );
      assert.ok((await exceptionIds(s)).includes(id), 'listed for an operator');

      // The channel recovers: the next (rare) query finds the payment.
      const cleared = await s.simulator('DELETE', faultsPath);
      assert.equal(cleared.status, 200);
      assert.deepEqual((await s.simulator('GET', faultsPath)).body, {});
      const settled = await untilStatus(s, id, 'SUCCEEDED');
      assert.deepEqual(
        settled.attempts.map((a) => a.status),
        ['SUCCEEDED'],
      );
      assert.deepEqual(settled.refunds, []);
      assert.deepEqual(logOf((await trade(s, attempt.outTradeNo)).notifications), [
        ['TRADE_SUCCESS', 'dropped (fault)'],
      ]);
      await expectMoneyConserved(s, id);
    });

    it('8. a channel outage at expiry does not lose a payment: the close is retried until confirmed', async () => {
      const s = fastQueries;
      const order = await createPayOrderForPayer(s, newOrder('outage-at-expiry', 3));
      const attempt = await openChannelOrder(s, order.id, payBody());
      const faultsPath = `/control/payments/${attempt.outTradeNo}/faults`;
      await s.simulator('POST', faultsPath, { dropNotifications: true, failQueries: true });
      await payerPays(s, attempt.outTradeNo);

      // Past expiry the close is refused as paid, but the channel cannot be queried to confirm it.
      // (Two failed queries flag it; how soon after expiry depends on the machine's load.)
      await sleep(Date.parse(order.expiresAt) + 1_000 - Date.now());
      const waiting = await eventually(
        async () => {
          const v = await view(s, order.id);
          assert.equal(v.status, 'PAYING', 'not CLOSED while a payment may exist');
          return v.needsAttention && v;
        },
        { what: 'flagged while the close cannot be confirmed' },
      );
      assert.equal(waiting.needsAttention, true);
      const handle = s.temporal.workflow.getHandle(order.id);
      assert.equal((await handle.describe()).status.name, 'RUNNING', 'the workflow did not fail');

      await s.simulator('DELETE', faultsPath);
      const settled = await untilStatus(s, order.id, 'SUCCEEDED');
      assert.deepEqual(
        settled.attempts.map((a) => a.status),
        ['SUCCEEDED'],
      );
      assert.deepEqual(settled.refunds, []);
      await expectMoneyConserved(s, order.id);
    });

    it('9. a refund the channel is still processing is followed by refund queries to the end', async () => {
      const s = fastQueries;
      const { id, attempt } = await payingOrder(s, newOrder('slow-refund'), payBody());
      await s.simulator('POST', `/control/payments/${attempt.outTradeNo}/faults`, {
        slowRefunds: true,
      });
      await payerLooks(s, attempt.outTradeNo);
      assert.equal((await s.api('POST', `/v1/pay-orders/${id}/close`)).body.status, 'CLOSED');
      await payerPays(s, attempt.outTradeNo); // a late payment: refunded

      const refunded = await eventually(
        async () => {
          const v = await view(s, id);
          return v.refunds.length === 1 && v.refunds[0]!.status === 'SUCCEEDED' && v;
        },
        { what: `${id} refund settled` },
      );
      assert.equal(refunded.refunds[0]!.reason, 'LATE_PAYMENT');
      // The channel first answered "processing"; queries (and, where the channel says a refund it
      // does not show yet was not received, an idempotent resend) followed it to the end.
      const calls = await activityResults(s.temporal, id, 'refundChannelOrder');
      assert.equal(calls[0], 'PROCESSING');
      const checks = await activityResults(s.temporal, id, 'queryChannelRefund');
      assert.equal(checks.at(-1), 'SUCCEEDED');
      assert.ok(checks.length >= 2, `followed by queries: ${checks.join(', ')}`);
      const { refunds } = await trade(s, attempt.outTradeNo);
      assert.equal(refunds.length, 1, 'one refund at the channel, however often it was asked');
      await expectMoneyConserved(s, id);
    });
  });
}
