// A channel never forgets its trades: the simulator runs as a process of its own, is killed with
// SIGKILL (nothing flushed, nothing closed) in the middle of a day of payments, and is started
// again on the same DATA_DIR. Its trades (sandbox and Alipay faces), refunds and the notification
// it still owed carry on: queries answer them, an unpaid trade can still be paid, the owed
// notification is sent, and the day's reconciliation finds nothing missing at the channel.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { businessDayOf } from '../../src/domain/businessDay';
import { expectMoneyConserved } from '../support/money';
import { freePort } from '../support/ports';
import { startSimulatorProcess, type SimulatorProcess } from '../support/simulatorProcess';
import { eventually, startTestSystem, testChannelKeys, type TestSystem } from '../support/system';
import { payerPays, payingOrder, reached } from '../support/payments';

let system: TestSystem;
let simulator: SimulatorProcess | undefined;
let dataDir: string;
/** What the simulator process is started with, each time: the same DATA_DIR and port. */
let simulatorEnv: Record<string, string>;

before(async () => {
  dataDir = mkdtempSync(path.join(tmpdir(), 'paycenter-simulator-restart-'));
  // The simulator signs with the key pairs the system's adapters trust.
  writeFileSync(path.join(dataDir, 'channel-keys.json'), JSON.stringify(testChannelKeys()));
  const schedules = {
    SIMULATOR_NOTIFY_RETRY_SECONDS: '1,1,2,2',
    ALIPAY_NOTIFY_RETRY_SECONDS: '1,1,2',
  };
  simulatorEnv = { DATA_DIR: dataDir, SIMULATOR_PORT: String(await freePort()), ...schedules };
  simulator = await startSimulatorProcess(simulatorEnv);
  system = await startTestSystem({
    ownSimulator: true,
    // The reconciliation below reads the whole books.
    ownDatabase: true,
    env: {
      ...schedules,
      SIMULATOR_PORT: simulatorEnv.SIMULATOR_PORT!,
      // No active query within this file: what settles an order here is the owed notification.
      QUERY_SCHEDULE_SECONDS: '600',
      RECONCILE_HOLD_DAYS: '0',
      SAFETY_NET_INTERVAL_SECONDS: '86400',
    },
  });
});
after(async () => {
  await simulator?.kill();
  await system?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

const today = businessDayOf(new Date());

/** A pot of tea, paid for in this file's scenarios. */
const tea = (amount: number) => ({
  prefix: 'restart',
  amount,
  subject: 'Tea',
  expiresInSeconds: 900,
});

describe('the simulator killed and restarted on its journal', () => {
  it('keeps trades, refunds and owed notifications; the day reconciles with nothing missing', async () => {
    // Paid and notified before the kill.
    const paid = await payingOrder(system, tea(2_100), { channel: 'sandbox' });
    await payerPays(system, paid.outTradeNo);
    await reached(system, paid.id, 'SUCCEEDED');

    // Paid at the Alipay face and partly refunded before the kill.
    const refunded = await payingOrder(system, tea(2_200), { channel: 'alipay', method: 'qr' });
    assert.equal((await fetch(`${system.simulatorUrl}/pay/${refunded.outTradeNo}`)).status, 200);
    await payerPays(system, refunded.outTradeNo);
    await reached(system, refunded.id, 'SUCCEEDED');
    const refund = await system.api('POST', '/v1/refunds', {
      payOrderId: refunded.id,
      merchantRefundNo: `restart-rfd-${Date.now()}`,
      amount: 700,
    });
    assert.equal(refund.status, 201, JSON.stringify(refund.body));
    await eventually(
      async () =>
        (await system.api('GET', `/v1/refunds/${refund.body.id}`)).body.status === 'SUCCEEDED',
      { what: 'the refund to succeed' },
    );

    // Paid just before the kill; its notification is owed, due in a few seconds.
    const owed = await payingOrder(system, tea(2_300), { channel: 'sandbox' });
    const delayed = await system.simulator('POST', `/control/payments/${owed.outTradeNo}/faults`, {
      delayNotificationsMs: 8_000,
    });
    assert.equal(delayed.status, 200);
    await payerPays(system, owed.outTradeNo);

    // Opened at the channel, not paid yet.
    const unpaid = await payingOrder(system, tea(2_400), { channel: 'sandbox' });

    assert.deepEqual((await system.trade(owed.outTradeNo)).notifications, [], 'not sent yet');
    await simulator!.kill();
    assert.equal((await system.payOrder(owed.id)).status, 'PAYING');
    simulator = await startSimulatorProcess(simulatorEnv);

    // The channel still knows every trade as it was.
    const statuses = Object.fromEntries(
      (await system.simulator('GET', '/control/payments')).body.items.map(
        (t: { out_trade_no: string; trade_status: string }) => [t.out_trade_no, t.trade_status],
      ),
    );
    assert.deepEqual(statuses, {
      [paid.outTradeNo]: 'TRADE_SUCCESS',
      [refunded.outTradeNo]: 'TRADE_SUCCESS',
      [owed.outTradeNo]: 'TRADE_SUCCESS',
      [unpaid.outTradeNo]: 'WAIT_BUYER_PAY',
    });
    const alipayTrade = await system.trade(refunded.outTradeNo);
    assert.equal(alipayTrade.channel, 'alipay');
    assert.deepEqual(
      alipayTrade.refunds.map((r: { refund_amount: number; refund_status: string }) => [
        r.refund_amount,
        r.refund_status,
      ]),
      [[700, 'REFUND_SUCCESS']],
    );

    // The owed notification goes out when due and settles its order (no query runs here).
    await reached(system, owed.id, 'SUCCEEDED');
    const notifications = (await system.trade(owed.outTradeNo)).notifications;
    assert.deepEqual(
      notifications.map((n: { attempt: number; outcome: string }) => [n.attempt, n.outcome]),
      [[0, 'acknowledged']],
    );

    // Queries through each face answer the trades as paid, so syncs change nothing.
    for (const order of [paid, refunded]) {
      const synced = await system.api('POST', `/v1/pay-orders/${order.id}/sync`);
      assert.equal(synced.status, 200, JSON.stringify(synced.body));
      assert.equal(synced.body.status, 'SUCCEEDED');
      assert.equal(synced.body.needsAttention, false);
    }
    const waiting = await system.api('POST', `/v1/pay-orders/${unpaid.id}/sync`);
    assert.equal(waiting.status, 200, JSON.stringify(waiting.body));
    assert.equal(waiting.body.status, 'PAYING');
    assert.equal(waiting.body.needsAttention, false);

    // The trade opened before the kill is paid after it.
    await payerPays(system, unpaid.outTradeNo);
    await reached(system, unpaid.id, 'SUCCEEDED');

    // The day's statements hold every payment and refund: nothing is missing at the channel.
    const sandboxDay = await system.ops('POST', '/ops/reconciliations', {
      channel: 'sandbox',
      day: today,
    });
    assert.equal(sandboxDay.status, 200, JSON.stringify(sandboxDay.body));
    assert.deepEqual(sandboxDay.body.classes, {});
    assert.deepEqual(sandboxDay.body.forOperators, []);
    assert.equal(sandboxDay.body.matched.payments, 3);
    const alipayDay = await system.ops('POST', '/ops/reconciliations', {
      channel: 'alipay',
      day: today,
    });
    assert.equal(alipayDay.status, 200, JSON.stringify(alipayDay.body));
    assert.deepEqual(alipayDay.body.classes, {});
    assert.deepEqual(alipayDay.body.forOperators, []);
    assert.deepEqual([alipayDay.body.matched.payments, alipayDay.body.matched.refunds], [1, 1]);

    // One simulator per journal: a second process on the same DATA_DIR is refused.
    const intruder = await startSimulatorProcess({
      ...simulatorEnv,
      SIMULATOR_PORT: String(await freePort()),
    }).then(
      async (started) => {
        await started.kill();
        return 'started';
      },
      (err: Error) => err.message,
    );
    assert.match(intruder, /in use by process/);

    for (const order of [paid, refunded, owed, unpaid])
      await expectMoneyConserved(system, order.id);
  });
});
