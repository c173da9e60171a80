// Alipay end to end over HTTP: paycenter's alipay adapter against the simulator's Alipay face
// (RSA2 both ways, form-encoded notifications answered "success"). Every money scenario ends with
// the invariant: channel successes minus refunds = the order amount if SUCCEEDED, else 0.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { businessDayOf } from '../../src/domain/businessDay';
import { channelCredentials } from '../../src/channels/credentials';
import { createChannels } from '../../src/channels/registry';
import { toYuan } from '../../src/channels/alipay/protocol';
import { alipaySuccessParams, signedAlipayBody } from '../support/alipayNotifications';
import { activityResults } from '../support/history';
import { expectMoneyConserved, expectNothingCollected } from '../support/money';
import { eventually, startTestSystem, testChannelKeys, type TestSystem } from '../support/system';
import { createPayOrder, openChannelOrder, reached } from '../support/payments';
import { readStatement } from '../support/statements';

let system: TestSystem;
before(async () => {
  system = await startTestSystem({
    env: { ALIPAY_NOTIFY_RETRY_SECONDS: '1,1,2', QUERY_SCHEDULE_SECONDS: '1' },
  });
});
after(async () => {
  await system?.stop();
});

const AMOUNT = 6_601; // 66.01 yuan

const newOrder = (amount = AMOUNT) =>
  createPayOrder(system, { prefix: 'ali', amount, subject: '两杯咖啡', expiresInSeconds: 600 });
const pay = (id: string, method: 'qr' | 'page') =>
  openChannelOrder(system, id, { channel: 'alipay', method });

/** The payer scans the QR code (opens its pay page): only then does the trade exist at Alipay. */
async function payerScans(outTradeNo: string) {
  assert.equal((await fetch(`${system.simulatorUrl}/pay/${outTradeNo}`)).status, 200);
}

async function postWebhook(body: string) {
  const response = await fetch(`${system.apiUrl}/webhooks/alipay`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' },
    body,
  });
  return { status: response.status, text: await response.text() };
}

describe("alipay through the simulator's face", () => {
  it('pays by QR code (precreate) and settles on an Alipay notification', async () => {
    const id = await newOrder();
    const attempt = await pay(id, 'qr');
    assert.equal(attempt.status, 'PENDING');
    assert.equal(attempt.payUrl, `${system.simulatorUrl}/pay/${attempt.outTradeNo}`);
    const before = await system.trade(attempt.outTradeNo);
    assert.equal(before.trade_status, 'WAIT_BUYER_PAY');
    assert.equal(before.total_amount, AMOUNT);

    assert.equal(
      (await system.simulator('POST', `/control/payments/${attempt.outTradeNo}/pay`)).status,
      200,
    );
    const paid = await reached(system, id, 'SUCCEEDED');
    assert.equal(paid.attempts[0].status, 'SUCCEEDED');
    const after = await system.trade(attempt.outTradeNo);
    assert.equal(after.notifications[0].outcome, 'acknowledged');
    const rows = await system.inbox('alipay', attempt.outTradeNo);
    assert.equal(rows.length, 1);
    assert.equal(rows[0]!.dedupeKey, after.notifications[0].notifyId);
    assert.match(rows[0]!.rawBody, new RegExp(`total_amount=${toYuan(AMOUNT)}`));
    assert.match(rows[0]!.rawBody, /sign_type=RSA2/);
    await expectMoneyConserved(system, id);
  });

  it('pays by page: the payer opens the signed URL, the gateway creates the trade', async () => {
    const id = await newOrder();
    const attempt = await pay(id, 'page');
    const payUrl = new URL(attempt.payUrl);
    assert.equal(payUrl.pathname, '/alipay/gateway.do');
    assert.equal(payUrl.searchParams.get('method'), 'alipay.trade.page.pay');
    // Not opened yet: Alipay knows no such trade, and a sync changes nothing.
    assert.equal(
      (await system.simulator('GET', `/control/payments/${attempt.outTradeNo}`)).status,
      404,
    );
    assert.equal((await system.api('POST', `/v1/pay-orders/${id}/sync`)).body.status, 'PAYING');

    // A tampered URL is refused by the gateway.
    const tampered = new URL(attempt.payUrl);
    tampered.searchParams.set(
      'biz_content',
      tampered.searchParams.get('biz_content')!.replace(toYuan(AMOUNT), '0.01'),
    );
    const refused = await fetch(tampered, { redirect: 'manual' });
    assert.equal(refused.status, 400);
    assert.match(await refused.text(), /isv\.invalid-signature/);

    for (let i = 0; i < 2; i++) {
      // Opening it twice is the same trade.
      const opened = await fetch(attempt.payUrl, { redirect: 'manual' });
      assert.equal(opened.status, 302);
      assert.equal(
        opened.headers.get('location'),
        `${system.simulatorUrl}/pay/${attempt.outTradeNo}`,
      );
    }
    const page = await fetch(`${system.simulatorUrl}/pay/${attempt.outTradeNo}`);
    assert.equal(page.status, 200);
    assert.equal((await system.trade(attempt.outTradeNo)).total_amount, AMOUNT);

    await system.simulator('POST', `/control/payments/${attempt.outTradeNo}/pay`);
    await reached(system, id, 'SUCCEEDED');
    await expectMoneyConserved(system, id);
  });

  it('queries a page order nobody has opened as waiting for the payer, not as missing', async () => {
    const id = await newOrder();
    await pay(id, 'page');
    const answers = await eventually(
      async () => {
        const results = await activityResults(system.temporal, id, 'queryChannelOrder');
        return results.length >= 2 && results;
      },
      { what: 'two scheduled queries' },
    );
    assert.deepEqual(
      answers.map((fact) => (fact as { status: string }).status),
      answers.map(() => 'PENDING'),
    );
    const v = await system.payOrder(id);
    assert.equal(v.status, 'PAYING');
    assert.equal(v.needsAttention, false);
  });

  it('settles by alipay.trade.query when every notification is dropped', async () => {
    const id = await newOrder();
    const { outTradeNo } = await pay(id, 'qr');
    await system.simulator('POST', `/control/payments/${outTradeNo}/faults`, {
      dropNotifications: true,
    });
    await system.simulator('POST', `/control/payments/${outTradeNo}/pay`);
    const paid = await reached(system, id, 'SUCCEEDED');
    assert.equal(paid.needsAttention, false);
    assert.deepEqual(
      (await system.trade(outTradeNo)).notifications.map((n: { outcome: string }) => n.outcome),
      ['dropped (fault)'],
    );
    assert.equal(
      (await system.inbox('alipay', outTradeNo)).length,
      0,
      'settled without any notification',
    );
    await expectMoneyConserved(system, id);
  });

  it('closes: alipay.trade.close for a scanned QR trade; a never-opened page only once opened', async () => {
    const id = await newOrder();
    const { outTradeNo } = await pay(id, 'qr');
    await payerScans(outTradeNo);
    const closed = await system.api('POST', `/v1/pay-orders/${id}/close`);
    assert.equal(closed.status, 200);
    assert.equal(closed.body.status, 'CLOSED');
    assert.equal((await system.trade(outTradeNo)).trade_status, 'TRADE_CLOSED');
    await expectMoneyConserved(system, id);

    // A page the payer never opened: Alipay has no trade to close (ACQ.TRADE_NOT_EXIST), yet the
    // signed URL stays payable until time_expire, so the close is not confirmed.
    const pageId = await newOrder();
    const page = await pay(pageId, 'page');
    const refused = await system.api('POST', `/v1/pay-orders/${pageId}/close`);
    assert.equal(refused.body.code, 'CHANNEL_UNAVAILABLE', JSON.stringify(refused.body));
    assert.equal((await system.payOrder(pageId)).status, 'PAYING');

    // Once the payer has opened it, the trade exists and Alipay closes it.
    assert.equal((await fetch(page.payUrl, { redirect: 'manual' })).status, 302);
    const pageClosed = await system.api('POST', `/v1/pay-orders/${pageId}/close`);
    assert.equal(pageClosed.body.status, 'CLOSED');
    assert.equal(pageClosed.body.attempts[0].status, 'CLOSED');
    await expectMoneyConserved(system, pageId);

    // A payment that still lands on it (the channel's close and the payer crossed) is a late
    // payment, and it goes back.
    await system.simulator('POST', `/control/payments/${page.outTradeNo}/pay`);
    const refunded = await eventually(
      async () => {
        const v = await system.payOrder(pageId);
        return v.refunds[0]?.status === 'SUCCEEDED' && v;
      },
      { what: 'late page payment refunded' },
    );
    assert.equal(refunded.status, 'CLOSED');
    assert.equal(refunded.refunds[0].reason, 'LATE_PAYMENT');
    await expectMoneyConserved(system, pageId);
  });

  it('refuses to close a paid order (close refused, query finds the payment)', async () => {
    const id = await newOrder();
    const { outTradeNo } = await pay(id, 'qr');
    await system.simulator('POST', `/control/payments/${outTradeNo}/faults`, {
      dropNotifications: true,
    });
    await system.simulator('POST', `/control/payments/${outTradeNo}/pay`);
    const close = await system.api('POST', `/v1/pay-orders/${id}/close`);
    assert.equal(close.status, 409, JSON.stringify(close.body));
    assert.equal(close.body.code, 'ALREADY_PAID');
    await reached(system, id, 'SUCCEEDED');
    await expectMoneyConserved(system, id);
  });

  it('refunds a late payment (LATE_PAYMENT) and lists both in the day statement', async () => {
    const id = await newOrder();
    const { outTradeNo } = await pay(id, 'qr');
    await payerScans(outTradeNo);
    assert.equal((await system.api('POST', `/v1/pay-orders/${id}/close`)).body.status, 'CLOSED');
    assert.equal(
      (await system.simulator('POST', `/control/payments/${outTradeNo}/pay`)).status,
      200,
    );

    const refunded = await eventually(
      async () => {
        const v = await system.payOrder(id);
        return v.refunds.length === 1 && v.refunds[0].status === 'SUCCEEDED' && v;
      },
      { what: 'late payment refunded' },
    );
    assert.equal(refunded.status, 'CLOSED');
    assert.deepEqual(
      refunded.refunds.map((r: { amount: number; reason: string }) => [r.amount, r.reason]),
      [[AMOUNT, 'LATE_PAYMENT']],
    );
    const t = await system.trade(outTradeNo);
    assert.deepEqual(
      t.refunds.map((r: { out_request_no: string; refund_status: string }) => [
        r.out_request_no,
        r.refund_status,
      ]),
      [[refunded.refunds[0].id, 'REFUND_SUCCESS']],
    );
    await expectMoneyConserved(system, id);

    const alipay = createChannels(
      system.config,
      channelCredentials(system.config, testChannelKeys()),
    ).get('alipay')!;
    const statement = await readStatement(alipay, businessDayOf(new Date()));
    assert.equal(statement.raw.subarray(0, 2).toString('latin1'), 'PK', 'the bill is a zip');
    const mine = statement.lines.filter((l) => l.outTradeNo === outTradeNo);
    assert.deepEqual(
      mine.map((l) => [l.kind, l.amount, l.currency, l.refundNo ?? null]),
      [
        ['PAYMENT', AMOUNT, 'CNY', null],
        ['REFUND', AMOUNT, 'CNY', refunded.refunds[0].id],
      ],
    );
    assert.equal(mine[0]!.channelTradeNo, t.trade_no);
  });

  it('follows a refund Alipay does not finish at once (fund_change N, then refund query)', async () => {
    const id = await newOrder();
    const { outTradeNo } = await pay(id, 'qr');
    await system.simulator('POST', `/control/payments/${outTradeNo}/faults`, { slowRefunds: true });
    await payerScans(outTradeNo);
    assert.equal((await system.api('POST', `/v1/pay-orders/${id}/close`)).body.status, 'CLOSED');
    await system.simulator('POST', `/control/payments/${outTradeNo}/pay`);
    const refunded = await eventually(
      async () => {
        const v = await system.payOrder(id);
        return v.refunds[0]?.status === 'SUCCEEDED' && v;
      },
      { what: 'slow refund succeeded' },
    );
    assert.equal(refunded.refunds[0].reason, 'LATE_PAYMENT');
    const t = await system.trade(outTradeNo);
    assert.equal(t.refunds.length, 1, 'one refund at Alipay, whatever the repeats');
    await expectMoneyConserved(system, id);
  });

  it('treats a failing gateway (code 20000) as unavailable, and settles once it recovers', async () => {
    const id = await newOrder();
    const { outTradeNo } = await pay(id, 'qr');
    await system.simulator('POST', `/control/payments/${outTradeNo}/faults`, {
      dropNotifications: true,
      failQueries: true,
    });
    await system.simulator('POST', `/control/payments/${outTradeNo}/pay`);
    const sync = await system.api('POST', `/v1/pay-orders/${id}/sync`);
    assert.equal(sync.body.status ?? 'PAYING', 'PAYING', JSON.stringify(sync.body));
    assert.equal((await system.payOrder(id)).status, 'PAYING');
    await system.simulator('POST', `/control/payments/${outTradeNo}/faults`, {
      dropNotifications: true,
    });
    await reached(system, id, 'SUCCEEDED');
    await expectMoneyConserved(system, id);
  });

  it('answers a forged notification with a non-200 and changes nothing', async () => {
    const id = await newOrder();
    const { outTradeNo } = await pay(id, 'qr');
    const t = await system.trade(outTradeNo);
    const params = alipaySuccessParams({
      appId: system.config.ALIPAY_APP_ID,
      tradeNo: t.trade_no,
      outTradeNo,
      amount: AMOUNT,
    });
    // Signed, but with our own app key instead of Alipay's.
    const forged = await postWebhook(
      signedAlipayBody(params, testChannelKeys().alipay.app.privateKey),
    );
    assert.notEqual(forged.status, 200);
    assert.notEqual(forged.text, 'success');
    const unsigned = await postWebhook(new URLSearchParams(params).toString());
    assert.notEqual(unsigned.status, 200);

    const v = await system.payOrder(id);
    assert.equal(v.status, 'PAYING');
    assert.equal(v.attempts[0].status, 'PENDING');
    assert.equal((await system.inbox('alipay', outTradeNo)).length, 0, 'nothing stored');
    assert.equal((await system.trade(outTradeNo)).trade_status, 'WAIT_BUYER_PAY');
    await expectNothingCollected(system, id);
  });

  it('takes a replayed genuine notification harmlessly', async () => {
    const id = await newOrder();
    const { outTradeNo } = await pay(id, 'qr');
    await system.simulator('POST', `/control/payments/${outTradeNo}/pay`);
    await reached(system, id, 'SUCCEEDED');
    const [stored] = await eventually(async () => {
      const rows = await system.inbox('alipay', outTradeNo);
      return rows.length === 1 && rows;
    });
    for (let i = 0; i < 2; i++) {
      const replay = await postWebhook(stored!.rawBody);
      assert.equal(replay.status, 200);
      assert.equal(replay.text, 'success');
    }
    const v = await system.payOrder(id);
    assert.equal(v.status, 'SUCCEEDED');
    assert.deepEqual(v.refunds, []);
    assert.equal(
      (await system.inbox('alipay', outTradeNo)).length,
      1,
      'one notification, by notify_id',
    );
    await expectMoneyConserved(system, id);
  });
});
