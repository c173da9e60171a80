// Alipay: amounts, times and statuses, signatures both ways (our adapter against the simulator
// face, the face against the official alipay-sdk), forged notifications, and the bill format.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AlipaySdk } from 'alipay-sdk';
import {
  createAlipayAdapter,
  timeExpire,
  toPayStatus,
  toRefundStatus,
} from '../../src/channels/alipay/adapter';
import { buildTradeBill, parseTradeBill } from '../../src/channels/alipay/bill';
import { decodeGbk } from '../../src/channels/alipay/gbk';
import {
  alipayTradeStatuses,
  fromYuan,
  parseForm,
  rsa2Sign,
  rsa2Verify,
  signContent,
  toYuan,
} from '../../src/channels/alipay/protocol';
import { readZip } from '../../src/channels/alipay/zip';
import { DomainError } from '../../src/domain/errors';
import { alipayFace } from '../../simulator/faces/alipay';
import type { ChannelTrade, TradeNotification } from '../../simulator/trades';
import { testChannelKeys } from '../support/system';
import { buildSimulator } from '../../simulator/server';
import { createLogger } from '../../src/log';

const APP_ID = '2021000000000001';
const keys = testChannelKeys().alipay;
const GATEWAY = 'http://127.0.0.1:9/alipay/gateway.do';

const adapter = createAlipayAdapter(
  {
    appId: APP_ID,
    appPrivateKey: keys.app.privateKey,
    alipayPublicKey: keys.platform.publicKey,
    gatewayUrl: GATEWAY,
  },
  { timeoutMs: 1000 },
);
const face = alipayFace({
  appId: APP_ID,
  appPublicKey: keys.app.publicKey,
  alipayPrivateKey: keys.platform.privateKey,
  retrySeconds: [1],
  publicUrl: 'http://127.0.0.1:9',
});

const trade: ChannelTrade = {
  out_trade_no: 'T0001',
  trade_no: 'SBX0001',
  trade_status: 'TRADE_SUCCESS',
  total_amount: 12_34,
  currency: 'CNY',
  pay_url: 'http://127.0.0.1:9/pay/T0001',
  gmt_payment: '2026-11-25T12:30:00.000Z',
};
const notification: TradeNotification = {
  notify_id: 'n-0001',
  out_trade_no: 'T0001',
  trade_no: 'SBX0001',
  trade_status: 'TRADE_SUCCESS',
  total_amount: 12_34,
  currency: 'CNY',
  gmt_payment: '2026-11-25T12:30:00.000Z',
};

function signedNotification(params: Record<string, string>, privateKey = keys.platform.privateKey) {
  const sign = rsa2Sign(signContent(params, ['sign', 'sign_type']), privateKey);
  return new URLSearchParams({ ...params, sign_type: 'RSA2', sign }).toString();
}

function rejects(rawBody: string, code = 'INVALID_SIGNATURE') {
  assert.throws(
    () => adapter.verifyNotification({ headers: {}, rawBody }),
    (err: unknown) => err instanceof DomainError && err.code === code,
  );
}

describe('alipay amounts and times', () => {
  it('converts yuan and fen exactly at the edges', () => {
    assert.equal(toYuan(1), '0.01');
    assert.equal(toYuan(10), '0.10');
    assert.equal(toYuan(100_000_000_00), '100000000.00');
    assert.equal(fromYuan('0.01'), 1);
    assert.equal(fromYuan('100000000.00'), 100_000_000_00);
    assert.equal(fromYuan('12.3'), 12_30);
    assert.equal(fromYuan('0.29'), 29); // 0.29 * 100 is 28.999999999999996 in floats
    for (const bad of ['1.001', '-1.00', '1e2', '', '1,00', ' 1 .0']) {
      assert.throws(() => fromYuan(bad), RangeError, bad);
    }
  });

  it('formats time_expire as Beijing yyyy-MM-dd HH:mm:ss', () => {
    assert.equal(timeExpire('2026-11-25T12:30:00.000Z'), '2026-11-25 20:30:00');
    assert.equal(timeExpire('2026-12-31T16:00:00Z'), '2027-01-01 00:00:00');
    assert.throws(() => timeExpire('tomorrow'), RangeError);
  });
});

describe('alipay statuses', () => {
  it('maps every trade status', () => {
    assert.deepEqual(
      alipayTradeStatuses.map((s) => [s, toPayStatus(s)]),
      [
        ['WAIT_BUYER_PAY', 'PENDING'],
        ['TRADE_SUCCESS', 'SUCCEEDED'],
        ['TRADE_FINISHED', 'SUCCEEDED'],
        ['TRADE_CLOSED', 'CLOSED'],
      ],
    );
  });

  it('takes only fund_change Y as a refund done at once', () => {
    assert.equal(toRefundStatus('Y'), 'SUCCEEDED');
    assert.equal(toRefundStatus('N'), 'PROCESSING');
    assert.equal(toRefundStatus(undefined), 'PROCESSING');
  });
});

describe('alipay signatures', () => {
  it("signs notifications that the official alipay-sdk verifies with Alipay's public key", () => {
    const { body, headers } = face.encodeNotification(trade, notification);
    assert.match(headers['content-type']!, /application\/x-www-form-urlencoded/);
    const params = parseForm(body)!;
    const merchantSdk = new AlipaySdk({
      appId: APP_ID,
      privateKey: keys.app.privateKey,
      keyType: 'PKCS8',
      alipayPublicKey: keys.platform.publicKey,
    });
    assert.equal(merchantSdk.checkNotifySignV2(params), true);
    assert.equal(merchantSdk.checkNotifySign(params), true);
    assert.equal(merchantSdk.checkNotifySignV2({ ...params, total_amount: '0.01' }), false);
    assert.equal(params.total_amount, '12.34');
    assert.equal(params.gmt_payment, '2026-11-25 20:30:00');
    assert.equal(params.app_id, APP_ID);
  });

  it('reads a genuine notification: notify_id, status, amount converted back exactly', () => {
    const { body } = face.encodeNotification(trade, notification);
    const verified = adapter.verifyNotification({ headers: {}, rawBody: body });
    assert.deepEqual(verified, {
      dedupeKey: 'n-0001',
      fact: {
        outTradeNo: 'T0001',
        status: 'SUCCEEDED',
        amount: 12_34,
        channelTradeNo: 'SBX0001',
        source: 'notify',
      },
    });
  });

  it('rejects forged, tampered, wrong-app and unsigned notifications', () => {
    const { body } = face.encodeNotification(trade, notification);
    const params = parseForm(body)!;
    const { sign: _s, sign_type: _t, ...unsigned } = params;
    // Tampered: the amount changed after signing.
    rejects(new URLSearchParams({ ...params, total_amount: '0.01' }).toString());
    // Forged: signed with a key that is not Alipay's.
    rejects(signedNotification(unsigned, keys.app.privateKey));
    // Genuine signature, but for another app.
    rejects(signedNotification({ ...unsigned, app_id: '2021000000009999' }));
    // No signature at all, or a weaker algorithm claimed.
    rejects(new URLSearchParams(unsigned).toString());
    rejects(new URLSearchParams({ ...params, sign_type: 'RSA' }).toString());
    // A parameter smuggled in twice.
    rejects(`${body}&trade_status=TRADE_SUCCESS`);
    rejects('not a form at all');
  });

  it('signs requests that the simulated Alipay face verifies with our public key', async () => {
    const created = await adapter.createOrder({
      outTradeNo: 'T0002',
      amount: 1,
      currency: 'CNY',
      subject: '咖啡 & tea',
      method: 'page',
      expiresAt: '2026-11-25T12:30:00.000Z',
      notifyUrl: 'http://127.0.0.1:9/webhooks/alipay',
      returnUrl: 'http://127.0.0.1:9/done?x=1',
    });
    const url = new URL(created.payUrl!);
    assert.equal(`${url.origin}${url.pathname}`, GATEWAY);
    const params = parseForm(url.search.slice(1))!;
    assert.equal(params.method, 'alipay.trade.page.pay');
    assert.equal(params.sign_type, 'RSA2');
    assert.equal(params.app_id, APP_ID);
    assert.deepEqual(JSON.parse(params.biz_content!), {
      out_trade_no: 'T0002',
      total_amount: '0.01',
      subject: '咖啡 & tea',
      time_expire: '2026-11-25 20:30:00',
      product_code: 'FAST_INSTANT_TRADE_PAY',
    });
    assert.equal(rsa2Verify(signContent(params), params.sign!, keys.app.publicKey), true);
    const tampered = { ...params, biz_content: params.biz_content!.replace('0.01', '0.02') };
    assert.equal(rsa2Verify(signContent(tampered), params.sign!, keys.app.publicKey), false);
    assert.equal(rsa2Verify(signContent(params), params.sign!, keys.platform.publicKey), false);
  });

  it('refuses a currency Alipay does not take here', async () => {
    await assert.rejects(
      adapter.createOrder({
        outTradeNo: 'T0003',
        amount: 100,
        currency: 'USD',
        subject: 'x',
        method: 'qr',
        expiresAt: '2026-11-25T12:30:00.000Z',
        notifyUrl: 'http://127.0.0.1:9/webhooks/alipay',
      }),
      { name: 'ChannelRejectedError' },
    );
  });

  it('answers a transport failure as the channel being unavailable', async () => {
    await assert.rejects(adapter.queryOrder('T0004'), { name: 'ChannelUnavailableError' });
  });
});

describe('alipay trade bill', () => {
  it('round-trips a GBK bill zip in the 业务明细 layout', () => {
    const zip = buildTradeBill('2088000000000001', '2026-11-25', [
      {
        kind: 'PAYMENT',
        tradeNo: 'SBX1',
        outTradeNo: 'T1',
        subject: '两杯咖啡, large',
        amount: 100_000_000_00,
        createdAt: '2026-11-25T01:00:00.000Z',
        at: '2026-11-25T01:00:05.000Z',
      },
      {
        kind: 'REFUND',
        tradeNo: 'SBX1',
        outTradeNo: 'T1',
        subject: '两杯咖啡',
        amount: 1,
        refundNo: 'rf_1',
        createdAt: '2026-11-25T02:00:00.000Z',
        at: '2026-11-25T02:00:00.000Z',
      },
    ]);
    const files = readZip(zip);
    assert.deepEqual(
      files.map((f) => f.name),
      ['2088000000000001_20261125_业务明细.csv', '2088000000000001_20261125_业务明细(汇总).csv'],
    );
    const text = decodeGbk(files[0]!.data);
    assert.match(text, /^#支付宝业务明细查询/);
    assert.match(text, /两杯咖啡 {2}large/);
    assert.notEqual(files[0]!.data.toString('utf8'), text, 'the file is GBK, not UTF-8');
    assert.deepEqual(parseTradeBill(zip), [
      {
        kind: 'PAYMENT',
        outTradeNo: 'T1',
        channelTradeNo: 'SBX1',
        currency: 'CNY',
        amount: 100_000_000_00,
        at: '2026-11-25T01:00:05.000Z',
      },
      {
        kind: 'REFUND',
        outTradeNo: 'T1',
        channelTradeNo: 'SBX1',
        currency: 'CNY',
        amount: 1,
        refundNo: 'rf_1',
        at: '2026-11-25T02:00:00.000Z',
      },
    ]);
  });
});

describe("the simulator's Alipay gateway", () => {
  const server = () =>
    buildSimulator({
      publicUrl: 'http://127.0.0.1:9',
      faces: [face],
      log: createLogger('silent'),
    });

  function request(params: Record<string, string>, privateKey = keys.app.privateKey) {
    const all = {
      app_id: APP_ID,
      method: 'alipay.trade.query',
      format: 'JSON',
      charset: 'utf-8',
      sign_type: 'RSA2',
      timestamp: '2026-11-25 20:30:00',
      version: '1.0',
      biz_content: JSON.stringify({ out_trade_no: 'T404' }),
      ...params,
    };
    return new URLSearchParams({ ...all, sign: rsa2Sign(signContent(all), privateKey) }).toString();
  }

  async function post(body: string) {
    const { app } = server();
    const response = await app.inject({
      method: 'POST',
      url: '/alipay/gateway.do',
      headers: { 'content-type': 'application/x-www-form-urlencoded;charset=utf-8' },
      payload: body,
    });
    await app.close();
    const json = response.json();
    const key = Object.keys(json).find((k) => k !== 'sign')!;
    // Every answer is signed with Alipay's key over the exact text of the response object.
    const inner = response.body.slice(
      response.body.indexOf(':') + 1,
      response.body.lastIndexOf(',"sign"'),
    );
    assert.equal(rsa2Verify(inner, json.sign, keys.platform.publicKey), true);
    return { key, content: json[key] };
  }

  it('answers a request it can verify (a trade it does not know: ACQ.TRADE_NOT_EXIST)', async () => {
    const { key, content } = await post(request({}));
    assert.equal(key, 'alipay_trade_query_response');
    assert.equal(content.code, '40004');
    assert.equal(content.sub_code, 'ACQ.TRADE_NOT_EXIST');
  });

  it('refuses a bad signature, another app, and a weaker sign type with code 40002', async () => {
    const forged = await post(request({}, keys.platform.privateKey));
    assert.equal(forged.content.code, '40002');
    assert.equal(forged.content.sub_code, 'isv.invalid-signature');
    const tampered = await post(request({}).replace('T404', 'T405'));
    assert.equal(tampered.content.sub_code, 'isv.invalid-signature');
    const otherApp = await post(request({ app_id: '2021000000009999' }));
    assert.equal(otherApp.content.sub_code, 'isv.invalid-app-id');
    const rsa1 = await post(request({ sign_type: 'RSA' }));
    assert.equal(rsa1.content.sub_code, 'isv.invalid-signature-type');
  });
});
