// Issue 12: WeChat Pay rotates its platform certificate. After the simulator's WeChat Pay face
// rotates, its notifications carry a serial paycenter has never seen: the webhook downloads the
// certificates once and accepts the notification; a serial nobody issued is refused with a 401
// problem and stores nothing, and repeats of it download nothing more within the interval.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { generateKeyPair } from '../../src/channels/keys';
import { signedHeaders } from '../../src/channels/wechatpay/protocol';
import { expectMoneyConserved, expectNothingCollected } from '../support/money';
import { eventually, startTestSystem, type TestSystem } from '../support/system';
import { payingOrder } from '../support/payments';

let system: TestSystem;
before(async () => {
  // No query fallback within the test: the notification alone must settle the order.
  system = await startTestSystem({ env: { QUERY_SCHEDULE_SECONDS: '600' } });
});
after(async () => {
  await system?.stop();
});

const AMOUNT = 8_800;
/** The order every scenario here pays for, by WeChat Pay Native. */
const xiaolongbao = {
  prefix: 'wxcert',
  amount: AMOUNT,
  subject: '一份小笼包',
  expiresInSeconds: 300,
};
const wechatpayNative = { channel: 'wechatpay', method: 'native' };

/** What the simulated WeChat Pay platform signs with and lists, and how often it was downloaded. */
async function platform() {
  const answer = await system.simulator('GET', '/control/wechatpay/platform-certificates');
  assert.equal(answer.status, 200, 'the simulator serves its platform certificates');
  return answer.body as { signingSerialNo: string; serialNos: string[]; downloads: number };
}

describe('wechatpay platform certificate rotation', () => {
  it('issue 12: a notification signed by a rotated platform certificate is accepted after one refresh and settles the order', async () => {
    const { id, outTradeNo } = await payingOrder(system, xiaolongbao, wechatpayNative);
    const before = await platform();
    const rotated = await system.simulator(
      'POST',
      '/control/wechatpay/platform-certificates/rotate',
    );
    assert.equal(rotated.status, 200);
    assert.notEqual(rotated.body.signingSerialNo, before.signingSerialNo);
    assert.ok(rotated.body.serialNos.includes(before.signingSerialNo), 'the old one stays listed');

    assert.equal(
      (await system.simulator('POST', `/control/payments/${outTradeNo}/pay`)).status,
      200,
    );
    const paid = await eventually(async () => {
      const v = await system.payOrder(id);
      return v.status === 'SUCCEEDED' && v;
    });
    assert.equal(paid.attempts[0].status, 'SUCCEEDED');
    assert.equal(
      (await system.inbox('wechatpay', outTradeNo)).length,
      1,
      'settled by the notification',
    );
    const trade = (await system.simulator('GET', `/control/payments/${outTradeNo}`)).body;
    assert.equal(trade.notifications[0].outcome, 'acknowledged');
    assert.equal((await platform()).downloads, before.downloads + 1, 'exactly one refresh');
    await expectMoneyConserved(system, id);
  });

  it('issue 12: a notification with an unknown serial is refused with a 401 problem, stores nothing, and repeats refresh no more within the interval', async () => {
    const { id, outTradeNo } = await payingOrder(system, xiaolongbao, wechatpayNative);
    const trade = (await system.simulator('GET', `/control/payments/${outTradeNo}`)).body;
    const body = JSON.stringify({
      id: `forged-${outTradeNo}`,
      create_time: new Date().toISOString(),
      event_type: 'TRANSACTION.SUCCESS',
      resource_type: 'encrypt-resource',
      summary: '支付成功',
      resource: { out_trade_no: outTradeNo, transaction_id: trade.trade_no },
    });
    const forger = generateKeyPair();
    const start = (await platform()).downloads;
    for (let i = 0; i < 5; i += 1) {
      const response = await fetch(`${system.apiUrl}/webhooks/wechatpay`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          ...signedHeaders(body, forger.privateKey, forger.serial, Date.now()),
        },
        body,
      });
      assert.equal(response.status, 401);
      assert.match(response.headers.get('content-type') ?? '', /application\/problem\+json/);
      const problem = (await response.json()) as { code: string; detail?: string };
      assert.equal(problem.code, 'INVALID_SIGNATURE');
      assert.match(problem.detail ?? '', /Wechatpay-Serial/);
    }
    // The first test refreshed less than the interval (60 s) ago: none of these may download.
    assert.equal((await platform()).downloads, start, 'no refresh within the interval');
    assert.equal((await system.inbox('wechatpay', outTradeNo)).length, 0);
    const v = await system.payOrder(id);
    assert.equal(v.status, 'PAYING');
    await expectNothingCollected(system, id);
  });
});
