// WeChat Pay API v3: the adapter's pure parts, the adapter against the simulator over HTTP, and
// a cross-check of our signatures, ciphertext and bill with an independent implementation
// (wechatpay-axios-plugin's Rsa, Aes.AesGcm and Formatter).
import assert from 'node:assert/strict';
import { gunzipSync } from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import { Aes, Formatter, Rsa } from 'wechatpay-axios-plugin';
import { businessDayOf } from '../../src/domain/businessDay';
import type { WechatpayCredentials } from '../../src/channels/credentials';
import { generateKeyPair } from '../../src/channels/keys';
import type { ChannelTrade, TradeNotification } from '../../simulator/trades';
import { ChannelRejectedError, ChannelUnavailableError } from '../../src/channels/types';
import {
  createWechatpayAdapter,
  parseTradeBill,
  timeExpire,
  toFen,
  toPayStatus,
  toRefundStatus,
} from '../../src/channels/wechatpay/adapter';
import {
  authorization,
  checkAuthorization,
  decryptResource,
  encryptResource,
  parseAuthorization,
  signedHeaders,
  tradeStates,
  refundStatuses,
} from '../../src/channels/wechatpay/protocol';
import { DomainError } from '../../src/domain/errors';
import { parseMajorUnits } from '../../src/domain/money';
import { createLogger } from '../../src/log';
import type { TradeEngine } from '../../simulator/engine';
import { wechatpayFace } from '../../simulator/faces/wechatpay';
import { buildSimulator } from '../../simulator/server';
import { freePort } from '../support/ports';
import { readStatement } from '../support/statements';
import { testChannelKeys } from '../support/system';

const keys = testChannelKeys().wechatpay;
const MCH_ID = '1900000001';
const APP_ID = 'wx0000000000000001';

function faceWith(publicUrl: string) {
  return wechatpayFace({
    mchId: MCH_ID,
    appId: APP_ID,
    mchPublicKey: keys.merchant.publicKey,
    mchSerialNo: keys.merchant.serial,
    apiV3Key: keys.apiV3Key,
    platformPrivateKey: keys.platform.privateKey,
    platformSerialNo: keys.platform.serial,
    retrySeconds: [],
    publicUrl,
  });
}

function credentials(baseUrl: string, over: Partial<WechatpayCredentials> = {}) {
  return {
    mchId: MCH_ID,
    appId: APP_ID,
    mchPrivateKey: keys.merchant.privateKey,
    mchSerialNo: keys.merchant.serial,
    apiV3Key: keys.apiV3Key,
    platformPublicKey: keys.platform.publicKey,
    platformSerialNo: keys.platform.serial,
    baseUrl,
    ...over,
  };
}

const trade: ChannelTrade = {
  out_trade_no: 'T20261125000001',
  trade_no: 'SBX1764000000000000001',
  trade_status: 'TRADE_SUCCESS',
  total_amount: 12_345,
  currency: 'CNY',
  pay_url: 'http://localhost/pay/T20261125000001',
  gmt_payment: new Date().toISOString(),
};
const success: TradeNotification = {
  notify_id: 'EV-0f2a7c3e-0000-4000-8000-000000000001',
  out_trade_no: trade.out_trade_no,
  trade_no: trade.trade_no,
  trade_status: 'TRADE_SUCCESS',
  total_amount: trade.total_amount,
  currency: 'CNY',
  gmt_payment: trade.gmt_payment!,
};

describe('wechatpay: amounts, times, statuses', () => {
  it('sends minor units as integer fen and reads bill yuan back exactly', () => {
    assert.equal(toFen(1), 1);
    assert.equal(toFen(12_345), 12_345);
    assert.throws(() => toFen(12.5), RangeError);
    assert.throws(() => toFen(0), RangeError);
    assert.equal(parseMajorUnits('123.45', 'CNY'), 12_345);
    assert.equal(parseMajorUnits('0.01', 'CNY'), 1);
    assert.throws(() => parseMajorUnits('0.001', 'CNY'), RangeError);
  });

  it('formats time_expire as RFC 3339 in Beijing time', () => {
    assert.equal(timeExpire('2026-11-25T12:30:00.000Z'), '2026-11-25T20:30:00+08:00');
    assert.equal(timeExpire('2026-11-25T16:00:00Z'), '2026-11-26T00:00:00+08:00');
    assert.throws(() => timeExpire('tomorrow'), RangeError);
  });

  it('maps every trade_state and refund status', () => {
    const pay = Object.fromEntries(tradeStates.map((s) => [s, toPayStatus(s)]));
    assert.deepEqual(pay, {
      SUCCESS: 'SUCCEEDED',
      REFUND: 'SUCCEEDED',
      NOTPAY: 'PENDING',
      CLOSED: 'CLOSED',
      REVOKED: 'CLOSED',
      USERPAYING: 'PENDING',
      PAYERROR: 'PENDING',
    });
    const refund = Object.fromEntries(refundStatuses.map((s) => [s, toRefundStatus(s)]));
    assert.deepEqual(refund, {
      SUCCESS: 'SUCCEEDED',
      CLOSED: 'FAILED',
      PROCESSING: 'PROCESSING',
      ABNORMAL: 'PROCESSING',
    });
  });
});

describe('wechatpay: signatures, cross-checked with wechatpay-axios-plugin', () => {
  const body = JSON.stringify({ mchid: MCH_ID, out_trade_no: 'T1', amount: { total: 1 } });
  const nowMs = Date.now();
  const header = authorization({
    mchId: MCH_ID,
    serialNo: keys.merchant.serial,
    privateKey: keys.merchant.privateKey,
    method: 'POST',
    pathWithQuery: '/v3/pay/transactions/native',
    body,
    nowMs,
  });

  it('our Authorization verifies in the face and with the plugin', () => {
    const check = {
      header,
      mchId: MCH_ID,
      serialNo: keys.merchant.serial,
      publicKey: keys.merchant.publicKey,
      method: 'POST',
      pathWithQuery: '/v3/pay/transactions/native',
      body,
      nowMs,
    };
    assert.equal(checkAuthorization(check), undefined);
    const p = parseAuthorization(header)!;
    assert.equal(p.timestamp, String(Math.floor(nowMs / 1000)));
    const message = Formatter.request(
      'POST',
      '/v3/pay/transactions/native',
      p.timestamp,
      p.nonce_str,
      body,
    );
    assert.equal(Rsa.verify(message, p.signature, keys.merchant.publicKey), true);
    // The plugin's Authorization for the same values reads back the same.
    const theirs = Formatter.authorization(
      MCH_ID,
      p.nonce_str,
      p.signature,
      p.timestamp,
      p.serial_no,
    );
    assert.deepEqual(parseAuthorization(theirs), p);

    assert.match(checkAuthorization({ ...check, body: body + ' ' }) ?? '', /signature/);
    assert.match(checkAuthorization({ ...check, pathWithQuery: '/v3/x' }) ?? '', /signature/);
    assert.match(checkAuthorization({ ...check, mchId: '1900000002' }) ?? '', /mchid/);
    assert.match(checkAuthorization({ ...check, serialNo: 'OTHER' }) ?? '', /serial/);
    assert.match(checkAuthorization({ ...check, nowMs: nowMs + 6 * 60_000 }) ?? '', /five/);
    assert.match(checkAuthorization({ ...check, header: undefined }) ?? '', /missing/);
  });

  it('the plugin signs a request the face accepts', () => {
    const ts = String(Math.floor(nowMs / 1000));
    const nonceStr = Formatter.nonce();
    const signature = Rsa.sign(
      Formatter.request('GET', '/v3/bill/tradebill?bill_date=2026-11-25', ts, nonceStr, ''),
      keys.merchant.privateKey,
    );
    const theirs = Formatter.authorization(MCH_ID, nonceStr, signature, ts, keys.merchant.serial);
    const problem = checkAuthorization({
      header: theirs,
      mchId: MCH_ID,
      serialNo: keys.merchant.serial,
      publicKey: keys.merchant.publicKey,
      method: 'GET',
      pathWithQuery: '/v3/bill/tradebill?bill_date=2026-11-25',
      body: '',
      nowMs,
    });
    assert.equal(problem, undefined);
  });

  it('AEAD_AES_256_GCM agrees with the plugin both ways', () => {
    const plain = JSON.stringify({ out_trade_no: 'T1', amount: { total: 1 } });
    const ours = encryptResource(plain, keys.apiV3Key, 'abcdefghijkl', 'transaction');
    assert.equal(Aes.AesGcm.decrypt(ours, keys.apiV3Key, 'abcdefghijkl', 'transaction'), plain);
    const theirs = Aes.AesGcm.encrypt(plain, keys.apiV3Key, 'mnopqrstuvwx', 'transaction');
    assert.equal(decryptResource(theirs, keys.apiV3Key, 'mnopqrstuvwx', 'transaction'), plain);
    assert.throws(() => decryptResource(ours, keys.apiV3Key, 'abcdefghijkl', 'certificate'));
  });
});

describe('wechatpay: notifications', () => {
  const face = faceWith('http://localhost:1');
  const adapter = createWechatpayAdapter(credentials('http://localhost:1/wechatpay'), {
    timeoutMs: 1000,
  });

  const invalidSignature = (err: unknown) =>
    err instanceof DomainError && err.code === 'INVALID_SIGNATURE';

  it('a notification the face encodes verifies and decrypts in the adapter', () => {
    const { body, headers } = face.encodeNotification(trade, success);
    const verified = adapter.verifyNotification({ headers: lower(headers), rawBody: body });
    assert.deepEqual(verified, {
      dedupeKey: success.notify_id,
      fact: {
        outTradeNo: trade.out_trade_no,
        status: 'SUCCEEDED',
        amount: 12_345,
        channelTradeNo: trade.trade_no,
        source: 'notify',
      },
    });
  });

  it('the plugin verifies the notification and decrypts its resource to the transaction', () => {
    const { body, headers } = face.encodeNotification(trade, success);
    const message = Formatter.response(
      headers['Wechatpay-Timestamp']!,
      headers['Wechatpay-Nonce']!,
      body,
    );
    assert.equal(
      Rsa.verify(message, headers['Wechatpay-Signature']!, keys.platform.publicKey),
      true,
    );
    assert.equal(headers['Wechatpay-Serial'], keys.platform.serial);
    const envelope = JSON.parse(body);
    assert.equal(envelope.event_type, 'TRANSACTION.SUCCESS');
    assert.equal(envelope.resource_type, 'encrypt-resource');
    const { ciphertext, nonce, associated_data } = envelope.resource;
    const transaction = JSON.parse(
      Aes.AesGcm.decrypt(ciphertext, keys.apiV3Key, nonce, associated_data),
    );
    assert.equal(transaction.out_trade_no, trade.out_trade_no);
    assert.equal(transaction.transaction_id, trade.trade_no);
    assert.equal(transaction.trade_state, 'SUCCESS');
    assert.equal(transaction.amount.total, 12_345);
    assert.equal(transaction.amount.payer_total, 12_345);
    assert.match(transaction.success_time, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+08:00$/);
  });

  it('refuses forged, tampered, stale and wrong-serial notifications', () => {
    const { body, headers } = face.encodeNotification(trade, success);
    const verify = (h: Record<string, string>, b: string) => () =>
      adapter.verifyNotification({ headers: lower(h), rawBody: b });

    // Forged: signed with another key.
    const forger = generateKeyPair();
    const forged = signedHeaders(body, forger.privateKey, keys.platform.serial, Date.now());
    assert.throws(verify(forged, body), invalidSignature);
    // Tampered: a byte of the body changed after signing.
    assert.throws(
      verify(headers, body.replace('TRANSACTION.SUCCESS', 'TRANSACTION.SUCCESs')),
      invalidSignature,
    );
    // Stale: a genuine signature from six minutes ago (a replay).
    const stale = signedHeaders(
      body,
      keys.platform.privateKey,
      keys.platform.serial,
      Date.now() - 6 * 60_000,
    );
    assert.throws(verify(stale, body), invalidSignature);
    // Wrong serial: a key we do not know, even when the signature itself is good.
    assert.throws(
      verify({ ...headers, 'Wechatpay-Serial': 'ABCDEF0123456789' }, body),
      invalidSignature,
    );
    // No signature at all.
    assert.throws(verify({ 'content-type': 'application/json' }, body), invalidSignature);
    // Genuinely signed, but the resource is not sealed with our APIv3 key.
    const envelope = JSON.parse(body);
    envelope.resource.ciphertext = encryptResource(
      '{}',
      'x'.repeat(32),
      envelope.resource.nonce,
      'transaction',
    );
    const resealed = JSON.stringify(envelope);
    const resigned = signedHeaders(
      resealed,
      keys.platform.privateKey,
      keys.platform.serial,
      Date.now(),
    );
    assert.throws(verify(resigned, resealed), invalidSignature);
  });

  it('the accepted reply is an empty 204, the rejected one a 500 with code FAIL', () => {
    assert.equal(adapter.replies.accepted.status, 204);
    assert.equal(adapter.replies.accepted.body, '');
    assert.equal(adapter.replies.rejected.status, 500);
    assert.equal(JSON.parse(adapter.replies.rejected.body).code, 'FAIL');
    assert.equal(face.isAcknowledged(204, ''), true);
    assert.equal(face.isAcknowledged(200, ''), true);
    assert.equal(face.isAcknowledged(500, '{"code":"FAIL"}'), false);
  });
});

describe("wechatpay: the adapter against the simulator's face over HTTP", () => {
  let stop: () => Promise<void>;
  let gateway: TradeEngine;
  let baseUrl: string;
  let publicUrl: string;
  const recorded: { method: string; url: string; headers: Headers; body: string }[] = [];
  const realFetch = globalThis.fetch;

  before(async () => {
    const port = await freePort();
    publicUrl = `http://127.0.0.1:${port}`;
    baseUrl = `${publicUrl}/wechatpay`;
    const built = buildSimulator({
      publicUrl,
      faces: [faceWith(publicUrl)],
      log: createLogger('silent'),
    });
    gateway = built.gateway;
    await built.app.listen({ host: '127.0.0.1', port });
    stop = () => built.app.close();
    // Record what the adapter sends and what it gets back, for the plugin to check.
    globalThis.fetch = async (input, init) => {
      const response = await realFetch(input, init);
      const copy = response.clone();
      recorded.push({
        method: init?.method ?? 'GET',
        url: input instanceof Request ? input.url : String(input),
        headers: new Headers(init?.headers),
        body: typeof init?.body === 'string' ? init.body : '',
      });
      Object.assign(recorded[recorded.length - 1]!, { response: copy });
      return response;
    };
  });
  after(async () => {
    globalThis.fetch = realFetch;
    await stop?.();
  });

  const order = (outTradeNo: string, amount = 8_800) => ({
    outTradeNo,
    amount,
    currency: 'CNY' as const,
    subject: '两杯咖啡, large',
    method: 'native',
    expiresAt: new Date(Date.now() + 15 * 60_000).toISOString(),
    notifyUrl: 'http://127.0.0.1:1/webhooks/wechatpay',
  });

  it('creates, queries, closes, refunds and lists in the bill', async () => {
    const adapter = createWechatpayAdapter(credentials(baseUrl), { timeoutMs: 5_000 });
    const created = await adapter.createOrder(order('WXUNIT000001'));
    assert.equal(created.payUrl, `${publicUrl}/pay/WXUNIT000001`);
    assert.equal(gateway.inspect('WXUNIT000001').total_amount, 8_800);

    assert.equal((await adapter.queryOrder('WXUNIT000001')).status, 'PENDING');
    assert.deepEqual(await adapter.queryOrder('WXUNIT404404'), {
      outTradeNo: 'WXUNIT404404',
      status: 'NOT_FOUND',
      source: 'query',
    });

    gateway.pay('WXUNIT000001', { force: false });
    const paid = await adapter.queryOrder('WXUNIT000001');
    assert.equal(paid.status, 'SUCCEEDED');
    assert.equal(paid.amount, 8_800);
    assert.ok(paid.channelTradeNo);

    const close = await adapter.closeOrder('WXUNIT000001');
    assert.equal(close.kind, 'alreadyPaid');

    assert.equal(
      await adapter.refund({ outTradeNo: 'WXUNIT000001', refundNo: 'rf_unit_1', amount: 8_800 }),
      'SUCCEEDED',
    );
    // Idempotent by out_refund_no.
    assert.equal(
      await adapter.refund({ outTradeNo: 'WXUNIT000001', refundNo: 'rf_unit_1', amount: 8_800 }),
      'SUCCEEDED',
    );
    assert.equal(await adapter.queryRefund('WXUNIT000001', 'rf_unit_1'), 'SUCCEEDED');
    assert.equal(await adapter.queryRefund('WXUNIT000001', 'rf_unit_none'), 'FAILED');
    // A refunded trade is still a paid one.
    assert.equal((await adapter.queryOrder('WXUNIT000001')).status, 'SUCCEEDED');
    await assert.rejects(
      adapter.refund({ outTradeNo: 'WXUNIT000001', refundNo: 'rf_unit_2', amount: 1 }),
      (err: unknown) =>
        err instanceof ChannelRejectedError && err.channelCode === 'INVALID_REQUEST',
    );

    await adapter.createOrder(order('WXUNIT000002', 100));
    assert.deepEqual(await adapter.closeOrder('WXUNIT000002'), { kind: 'closed' });
    assert.deepEqual(await adapter.closeOrder('WXUNIT000002'), { kind: 'closed' });
    assert.equal((await adapter.queryOrder('WXUNIT000002')).status, 'CLOSED');

    const statement = await readStatement(adapter, businessDayOf(new Date()));
    const mine = statement.lines.filter((l) => l.outTradeNo === 'WXUNIT000001');
    assert.deepEqual(
      mine.map((l) => [l.kind, l.amount, l.currency, l.refundNo]),
      [
        ['PAYMENT', 8_800, 'CNY', undefined],
        ['REFUND', 8_800, 'CNY', 'rf_unit_1'],
      ],
    );
    assert.equal(statement.lines.length, 2, 'the closed order is not in the bill');

    // The plugin reads the same bill.
    const csv = gunzipSync(statement.raw);
    const { rows, summary } = Formatter.castCsvBill(csv) as {
      rows: Record<string, string>[];
      summary: Record<string, string>;
    };
    assert.deepEqual(
      rows.map((r) => [r['交易状态'], r['商户订单号'], r['订单金额'], r['申请退款金额']]),
      [
        ['SUCCESS', 'WXUNIT000001', '88.00', '0.00'],
        ['REFUND', 'WXUNIT000001', '88.00', '88.00'],
      ],
    );
    assert.equal(rows[0]!['商品名称'], '两杯咖啡, large');
    assert.equal(summary['总交易单数'], '2');
    assert.equal(summary['订单总金额'], '88.00');
    assert.equal(summary['申请退款总金额'], '88.00');
    assert.deepEqual(parseTradeBill(csv.toString('utf8')), statement.lines);

    // A day without any trade has no bill.
    assert.deepEqual((await readStatement(adapter, '2020-01-01')).lines, []);
  });

  it('every request we sent verifies with the plugin, and every answer we got too', async () => {
    const signed = recorded.filter((r) => !r.url.includes('/billdownload/'));
    assert.ok(signed.length >= 10);
    for (const r of recorded) {
      const url = new URL(r.url);
      const p = parseAuthorization(r.headers.get('authorization') ?? undefined)!;
      const message = Formatter.request(
        r.method,
        url.pathname + url.search,
        p.timestamp,
        p.nonce_str,
        r.body,
      );
      assert.equal(Rsa.verify(message, p.signature, keys.merchant.publicKey), true, r.url);
    }
    for (const r of signed) {
      const response = (r as unknown as { response: Response }).response;
      const text = await response.text();
      const h = response.headers;
      const message = Formatter.response(
        h.get('wechatpay-timestamp')!,
        h.get('wechatpay-nonce')!,
        text,
      );
      assert.equal(
        Rsa.verify(message, h.get('wechatpay-signature')!, keys.platform.publicKey),
        true,
      );
      assert.equal(h.get('wechatpay-serial'), keys.platform.serial);
    }
  });

  it('refuses requests signed with another merchant key: 401 SIGN_ERROR', async () => {
    const other = generateKeyPair();
    const adapter = createWechatpayAdapter(
      credentials(baseUrl, { mchPrivateKey: other.privateKey }),
      {
        timeoutMs: 5_000,
      },
    );
    await assert.rejects(
      adapter.queryOrder('WXUNIT000001'),
      (err: unknown) => err instanceof ChannelRejectedError && err.channelCode === 'SIGN_ERROR',
    );
  });

  it('does not trust answers signed by a platform key it does not know', async () => {
    // An unknown serial is looked up in the certificate download (sealed with the APIv3 key):
    // the genuine platform certificate is listed there, so the answer is then trusted.
    const adapter = createWechatpayAdapter(
      credentials(baseUrl, { platformSerialNo: 'SOMEONE-ELSE' }),
      { timeoutMs: 5_000 },
    );
    assert.equal((await adapter.queryOrder('WXUNIT000001')).outTradeNo, 'WXUNIT000001');
    const other = generateKeyPair();
    const fooled = createWechatpayAdapter(
      credentials(baseUrl, { platformPublicKey: other.publicKey }),
      { timeoutMs: 5_000 },
    );
    await assert.rejects(fooled.queryOrder('WXUNIT000001'), ChannelUnavailableError);
  });

  it('a channel outage is ChannelUnavailableError', async () => {
    await realFetch(`${publicUrl}/control/faults`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ failQueries: true }),
    });
    const adapter = createWechatpayAdapter(credentials(baseUrl), { timeoutMs: 5_000 });
    await assert.rejects(adapter.queryOrder('WXUNIT000001'), ChannelUnavailableError);
    await realFetch(`${publicUrl}/control/faults`, { method: 'DELETE' });
    const down = createWechatpayAdapter(credentials('http://127.0.0.1:1/wechatpay'), {
      timeoutMs: 2_000,
    });
    await assert.rejects(down.queryOrder('WXUNIT000001'), ChannelUnavailableError);
  });
});

function lower(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
}
