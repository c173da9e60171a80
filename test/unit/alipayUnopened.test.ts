// Alipay orders the payer has not opened yet (an unopened page-pay URL, an unscanned precreate QR
// code): Alipay answers ACQ.TRADE_NOT_EXIST for them, yet they stay payable until time_expire.
// Our adapter against the simulator's Alipay face, on a real port.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { AddressInfo } from 'node:net';
import { createAlipayAdapter } from '../../src/channels/alipay/adapter';
import type { ChannelAdapter } from '../../src/channels/types';
import { createLogger } from '../../src/log';
import { alipayFace } from '../../simulator/faces/alipay';
import { buildSimulator } from '../../simulator/server';
import { testChannelKeys } from '../support/system';

const APP_ID = '2021000000000001';
const keys = testChannelKeys().alipay;

let simulator: ReturnType<typeof buildSimulator>;
let simulatorUrl: string;
let adapter: ChannelAdapter;
let seq = 0;

before(async () => {
  simulator = buildSimulator({
    publicUrl: 'http://127.0.0.1:9',
    faces: [
      alipayFace({
        appId: APP_ID,
        appPublicKey: keys.app.publicKey,
        alipayPrivateKey: keys.platform.privateKey,
        retrySeconds: [1],
        publicUrl: 'http://127.0.0.1:9',
      }),
    ],
    log: createLogger('silent'),
  });
  await simulator.app.listen({ host: '127.0.0.1', port: 0 });
  simulatorUrl = `http://127.0.0.1:${(simulator.app.server.address() as AddressInfo).port}`;
  adapter = createAlipayAdapter(
    {
      appId: APP_ID,
      appPrivateKey: keys.app.privateKey,
      alipayPublicKey: keys.platform.publicKey,
      gatewayUrl: `${simulatorUrl}/alipay/gateway.do`,
    },
    { timeoutMs: 5000 },
  );
});
after(async () => {
  await simulator?.app.close();
});

const inMinutes = (minutes: number) => new Date(Date.now() + minutes * 60_000).toISOString();

async function precreate(expiresAt: string) {
  const outTradeNo = `TUNOPENED${Date.now()}${++seq}`;
  await adapter.createOrder({
    outTradeNo,
    amount: 1_234,
    currency: 'CNY',
    subject: 'unopened',
    method: 'qr',
    expiresAt,
    notifyUrl: 'http://127.0.0.1:9/webhooks/alipay',
  });
  return outTradeNo;
}

/** The payer scans the QR code (opens its pay page). */
async function payerScans(outTradeNo: string) {
  const page = await simulator.app.inject({ method: 'GET', url: `/pay/${outTradeNo}` });
  assert.equal(page.statusCode, 200);
}

describe('alipay orders the payer has not opened yet', () => {
  it('defect 7: the simulated Alipay face answers ACQ.TRADE_NOT_EXIST for an unscanned QR code, yet the payer can pay it', async () => {
    const outTradeNo = await precreate(inMinutes(10));
    await assert.rejects(simulator.gateway.queryTrade(outTradeNo), { code: 'TRADE_NOT_EXIST' });
    assert.throws(() => simulator.gateway.closeTrade(outTradeNo), { code: 'TRADE_NOT_EXIST' });
    await payerScans(outTradeNo);
    const paid = await simulator.app.inject({ method: 'POST', url: `/pay/${outTradeNo}` });
    assert.equal(paid.statusCode, 200);
    assert.equal((await simulator.gateway.queryTrade(outTradeNo)).trade_status, 'TRADE_SUCCESS');
  });

  it('defect 7: a query of an unscanned QR code is a PENDING fact (waiting for the payer), not NOT_FOUND', async () => {
    const outTradeNo = await precreate(inMinutes(10));
    const fact = await adapter.queryOrder(outTradeNo, 'qr');
    assert.equal(fact.status, 'PENDING');
    // An order whose precreate was lost (the attempt is UNKNOWN) is treated alike: still payable.
    assert.equal((await adapter.queryOrder(`TNEVER${Date.now()}`, 'qr')).status, 'PENDING');
    assert.equal((await adapter.queryOrder(`TNEVER${Date.now()}`, 'page')).status, 'PENDING');
  });

  it('defect 7: ACQ.TRADE_NOT_EXIST does not confirm a close before time_expire', async () => {
    const expiresAt = inMinutes(10);
    const outTradeNo = await precreate(expiresAt);
    await assert.rejects(adapter.closeOrder(outTradeNo, { expiresAt }), {
      name: 'ChannelRejectedError',
    });
    // Without the order's expiry the adapter cannot tell either: not confirmed.
    await assert.rejects(adapter.closeOrder(outTradeNo), { name: 'ChannelRejectedError' });
    // A never-opened page order alike.
    await assert.rejects(adapter.closeOrder(`TPAGE${Date.now()}`, { expiresAt }), {
      name: 'ChannelRejectedError',
    });

    // Once the payer has scanned it, the trade exists and Alipay confirms the close.
    await payerScans(outTradeNo);
    assert.deepEqual(await adapter.closeOrder(outTradeNo, { expiresAt }), { kind: 'closed' });
    assert.equal(simulator.gateway.inspect(outTradeNo).trade_status, 'TRADE_CLOSED');
  });

  it('defect 7: ACQ.TRADE_NOT_EXIST after time_expire confirms the close', async () => {
    const expiresAt = new Date(Date.now() - 1_000).toISOString();
    assert.deepEqual(await adapter.closeOrder(`TPAGE${Date.now()}`, { expiresAt }), {
      kind: 'closed',
    });
  });
});
