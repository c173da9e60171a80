// WeChat Pay (API v3, Native) end to end over HTTP: paycenter's adapter against the simulator's
// WeChat Pay face. Payments settle by notification or, when notifications are lost, by query;
// closes, late payments (refunded), the statement, forged and replayed notifications. Each money
// scenario ends with the invariant: channel successes minus refunds equal the order amount if it
// SUCCEEDED, else zero.
import assert from 'node:assert/strict';
import { createVerify } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { businessDayOf } from '../../src/domain/businessDay';
import { channelCredentials } from '../../src/channels/credentials';
import { generateKeyPair } from '../../src/channels/keys';
import { createChannels } from '../../src/channels/registry';
import { signedHeaders } from '../../src/channels/wechatpay/protocol';
import { wechatpayFace } from '../../simulator/faces/wechatpay';
import { expectMoneyConserved, expectNothingCollected } from '../support/money';
import { eventually, startTestSystem, testChannelKeys, type TestSystem } from '../support/system';
import { createPayOrder, payingOrder } from '../support/payments';
import { readStatement } from '../support/statements';

let system: TestSystem;
before(async () => {
  system = await startTestSystem({ env: { QUERY_SCHEDULE_SECONDS: '1' } });
});
after(async () => {
  await system?.stop();
});

const AMOUNT = 6_600;

/** A pay order paid by WeChat Pay Native: the channel order waits for the payer (PENDING). */
async function nativeOrder() {
  const paying = await payingOrder(
    system,
    { prefix: 'wx', amount: AMOUNT, subject: '一碗牛肉面', expiresInSeconds: 300 },
    { channel: 'wechatpay', method: 'native' },
  );
  assert.equal(paying.attempt.status, 'PENDING');
  return { ...paying, payUrl: paying.attempt.payUrl };
}

/** The simulator's WeChat Pay face with the system's keys: it makes genuine notifications. */
function platform() {
  const keys = testChannelKeys().wechatpay;
  return wechatpayFace({
    mchId: system.config.WECHATPAY_MCH_ID,
    appId: system.config.WECHATPAY_APP_ID,
    mchPublicKey: keys.merchant.publicKey,
    mchSerialNo: keys.merchant.serial,
    apiV3Key: keys.apiV3Key,
    platformPrivateKey: keys.platform.privateKey,
    platformSerialNo: keys.platform.serial,
    retrySeconds: [],
    publicUrl: system.simulatorUrl,
  });
}

async function postWebhook(body: string, headers: Record<string, string>) {
  const response = await fetch(`${system.apiUrl}/webhooks/wechatpay`, {
    method: 'POST',
    headers,
    body,
  });
  return { status: response.status, text: await response.text() };
}

describe('wechatpay end to end', () => {
  it('pays by Native: the code_url opens the pay page, a WeChat notification settles it', async () => {
    const { id, outTradeNo, payUrl } = await nativeOrder();
    assert.equal(payUrl, `${system.simulatorUrl}/pay/${outTradeNo}`);
    const page = await fetch(payUrl);
    assert.equal(page.status, 200);
    assert.equal(
      (await system.simulator('POST', `/control/payments/${outTradeNo}/pay`)).status,
      200,
    );

    const paid = await eventually(async () => {
      const v = await system.payOrder(id);
      return v.status === 'SUCCEEDED' && v;
    });
    assert.equal(paid.attempts[0].channel, 'wechatpay');
    assert.equal(paid.attempts[0].status, 'SUCCEEDED');
    const rows = await system.inbox('wechatpay', outTradeNo);
    assert.equal(rows.length, 1, 'settled by the notification');
    const t = await eventually(async () => {
      const t = await system.trade(outTradeNo);
      return t.notifications.some((n: { outcome: string }) => n.outcome === 'acknowledged') && t;
    });
    assert.equal(t.notifications[0].outcome, 'acknowledged');
    await expectMoneyConserved(system, id);
  });

  it("pays by JSAPI as a known WeChat user: signed parameters for the payer's page", async () => {
    const id = await createPayOrder(system, {
      prefix: 'wx-jsapi',
      amount: AMOUNT,
      subject: '一杯奶茶',
    });
    const missing = await system.api('POST', `/v1/pay-orders/${id}/pay`, {
      channel: 'wechatpay',
      method: 'jsapi',
    });
    assert.equal(missing.status, 400);
    assert.deepEqual(
      missing.body.errors.map((e: { field: string }) => e.field),
      ['body.payerId'],
    );

    const openid = 'oUpF8uMuAJO_M2pxb1Q9zNjWeS6o';
    const paid = await system.api('POST', `/v1/pay-orders/${id}/pay`, {
      channel: 'wechatpay',
      method: 'jsapi',
      payerId: openid,
    });
    assert.equal(paid.status, 200, JSON.stringify(paid.body));
    const { payParams, outTradeNo } = paid.body.attempt;
    assert.equal(payParams.appId, system.config.WECHATPAY_APP_ID);
    assert.match(payParams.package, /^prepay_id=wx/);
    assert.equal(payParams.signType, 'RSA');
    const signed = `${payParams.appId}\n${payParams.timeStamp}\n${payParams.nonceStr}\n${payParams.package}\n`;
    const verifier = createVerify('RSA-SHA256').update(signed);
    assert.ok(
      verifier.verify(testChannelKeys().wechatpay.merchant.publicKey, payParams.paySign, 'base64'),
    );

    // The same user asking again gets the same order; another user needs another order.
    const again = await system.api('POST', `/v1/pay-orders/${id}/pay`, {
      channel: 'wechatpay',
      method: 'jsapi',
      payerId: openid,
    });
    assert.equal(again.body.attempt.id, paid.body.attempt.id);

    await system.simulator('POST', `/control/payments/${outTradeNo}/pay`);
    await eventually(async () => (await system.payOrder(id)).status === 'SUCCEEDED');
    await expectMoneyConserved(system, id);
  });

  it('settles by query when the notification is dropped (掉单)', async () => {
    const { id, outTradeNo } = await nativeOrder();
    await system.simulator('POST', `/control/payments/${outTradeNo}/faults`, {
      dropNotifications: true,
    });
    await system.simulator('POST', `/control/payments/${outTradeNo}/pay`);
    const settled = await eventually(async () => {
      const v = await system.payOrder(id);
      return v.status === 'SUCCEEDED' && v;
    });
    assert.equal(settled.needsAttention, false);
    assert.deepEqual(
      (await system.trade(outTradeNo)).notifications.map((n: { outcome: string }) => n.outcome),
      ['dropped (fault)'],
    );
    assert.equal(
      (await system.inbox('wechatpay', outTradeNo)).length,
      0,
      'settled without any notification',
    );
    await expectMoneyConserved(system, id);
  });

  it('closes an order at the merchant request, closing the WeChat Pay order first', async () => {
    const { id, outTradeNo } = await nativeOrder();
    const closed = await system.api('POST', `/v1/pay-orders/${id}/close`);
    assert.equal(closed.status, 200);
    assert.equal(closed.body.status, 'CLOSED');
    assert.equal(closed.body.attempts[0].status, 'CLOSED');
    assert.equal((await system.trade(outTradeNo)).trade_status, 'TRADE_CLOSED');
    await expectMoneyConserved(system, id);
  });

  it('refunds a payment that lands after the close, and the bill shows both', async () => {
    const { id, outTradeNo } = await nativeOrder();
    assert.equal((await system.api('POST', `/v1/pay-orders/${id}/close`)).body.status, 'CLOSED');
    assert.equal(
      (await system.simulator('POST', `/control/payments/${outTradeNo}/pay`)).status,
      200,
    );

    const refunded = await eventually(async () => {
      const v = await system.payOrder(id);
      return v.refunds.length === 1 && v.refunds[0].status === 'SUCCEEDED' && v;
    });
    assert.equal(refunded.status, 'CLOSED');
    assert.equal(refunded.refunds[0].reason, 'LATE_PAYMENT');
    assert.equal(refunded.refunds[0].amount, AMOUNT);
    const t = await system.trade(outTradeNo);
    assert.deepEqual(
      t.refunds.map((r: { refund_status: string; out_request_no: string }) => [
        r.refund_status,
        r.out_request_no,
      ]),
      [['REFUND_SUCCESS', refunded.refunds[0].id]],
    );
    await expectMoneyConserved(system, id);

    const channels = createChannels(
      system.config,
      channelCredentials(system.config, testChannelKeys()),
    );
    const statement = await readStatement(channels.get('wechatpay')!, businessDayOf(new Date()));
    const mine = statement.lines.filter((l) => l.outTradeNo === outTradeNo);
    assert.deepEqual(
      mine.map((l) => [l.kind, l.amount, l.currency, l.refundNo]),
      [
        ['PAYMENT', AMOUNT, 'CNY', undefined],
        ['REFUND', AMOUNT, 'CNY', refunded.refunds[0].id],
      ],
    );
    assert.equal(mine[0]!.channelTradeNo, t.trade_no);
  });

  it('answers a forged notification with non-2xx and changes nothing', async () => {
    const { id, outTradeNo } = await nativeOrder();
    const t = await system.trade(outTradeNo);
    const genuine = platform().encodeNotification(t, {
      notify_id: `forged-${outTradeNo}`,
      out_trade_no: outTradeNo,
      trade_no: t.trade_no,
      trade_status: 'TRADE_SUCCESS',
      total_amount: AMOUNT,
      currency: 'CNY',
      gmt_payment: new Date().toISOString(),
    });
    // The same body, signed by someone who is not WeChat Pay (but claims its serial).
    const forger = generateKeyPair();
    const keys = testChannelKeys().wechatpay;
    const forged = await postWebhook(genuine.body, {
      'content-type': 'application/json',
      ...signedHeaders(genuine.body, forger.privateKey, keys.platform.serial, Date.now()),
    });
    assert.ok(forged.status >= 400, `forged answered ${forged.status}`);
    // A genuine signature from more than five minutes ago: a replay, refused the same way.
    const stale = await postWebhook(genuine.body, {
      'content-type': 'application/json',
      ...signedHeaders(
        genuine.body,
        keys.platform.privateKey,
        keys.platform.serial,
        Date.now() - 6 * 60_000,
      ),
    });
    assert.ok(stale.status >= 400, `stale answered ${stale.status}`);

    assert.equal((await system.inbox('wechatpay', outTradeNo)).length, 0);
    const v = await system.payOrder(id);
    assert.equal(v.status, 'PAYING');
    assert.equal(v.attempts[0].status, 'PENDING');
    assert.equal((await system.trade(outTradeNo)).trade_status, 'WAIT_BUYER_PAY');
    await expectNothingCollected(system, id);
  });

  it('a replayed genuine notification is harmless', async () => {
    const { id, outTradeNo } = await nativeOrder();
    await system.simulator('POST', `/control/payments/${outTradeNo}/pay`);
    await eventually(async () => (await system.payOrder(id)).status === 'SUCCEEDED');

    const t = await system.trade(outTradeNo);
    const notification = platform().encodeNotification(t, {
      notify_id: `replay-${outTradeNo}`,
      out_trade_no: outTradeNo,
      trade_no: t.trade_no,
      trade_status: 'TRADE_SUCCESS',
      total_amount: AMOUNT,
      currency: 'CNY',
      gmt_payment: t.gmt_payment,
    });
    const first = await postWebhook(notification.body, notification.headers);
    const again = await postWebhook(notification.body, notification.headers);
    assert.ok(first.status === 204 || first.status === 200, `first answered ${first.status}`);
    assert.ok(again.status === 204 || again.status === 200, `again answered ${again.status}`);

    const rows = (await system.inbox('wechatpay', outTradeNo)).filter(
      (r) => r.dedupeKey === `replay-${outTradeNo}`,
    );
    assert.equal(rows.length, 1, 'stored once');
    await new Promise((r) => setTimeout(r, 1_000));
    const v = await system.payOrder(id);
    assert.equal(v.status, 'SUCCEEDED');
    assert.deepEqual(v.refunds, []);
    assert.equal(v.attempts.length, 1);
    await expectMoneyConserved(system, id);
  });
});
