// Defect 7 of issue 11, end to end: an Alipay order the payer has not opened yet (a page-pay URL
// nobody opened, a precreate QR code nobody scanned) does not exist at Alipay (query and close
// answer ACQ.TRADE_NOT_EXIST), yet the payer can open and pay it until time_expire. So it is waiting
// for the payer, never "lost", and a close is confirmed only by Alipay or by time_expire passing.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { activityResults } from '../support/history';
import { expectMoneyConserved, expectNothingCollected } from '../support/money';
import { eventually, startTestSystem, type TestSystem } from '../support/system';
import { createPayOrder, openChannelOrder, reached } from '../support/payments';

let system: TestSystem;
before(async () => {
  system = await startTestSystem({
    env: {
      ALIPAY_NOTIFY_RETRY_SECONDS: '1,1,2',
      QUERY_SCHEDULE_SECONDS: '1',
      QUERY_ATTENTION_AFTER_FAILURES: '2',
      QUERY_RARE_SECONDS: '2',
    },
  });
});
after(async () => {
  await system?.stop();
});

const AMOUNT = 4_321;

const newOrder = (expiresInSeconds = 600) =>
  createPayOrder(system, {
    prefix: 'ali-unopened',
    amount: AMOUNT,
    subject: '未打开的订单',
    expiresInSeconds,
  });
const pay = (id: string, method: 'qr' | 'page') =>
  openChannelOrder(system, id, { channel: 'alipay', method });

/** The payer opens the pay URL (a page's signed URL, or the QR code's content) and pays there. */
async function payerOpensAndPays(payUrl: string) {
  const opened = await fetch(payUrl);
  assert.equal(opened.status, 200, 'the pay page opens');
  const paid = await fetch(opened.url, { method: 'POST', redirect: 'manual' });
  assert.equal(paid.status, 200, await paid.text());
}

/** Money is conserved once the order settled; while it is open, the channel holds nothing. */
async function assertInvariant(id: string) {
  const { status } = await system.payOrder(id);
  if (status === 'SUCCEEDED' || status === 'CLOSED') await expectMoneyConserved(system, id);
  else await expectNothingCollected(system, id);
}

function assertNotConfirmed(answer: { status: number; body: { code?: string } }) {
  assert.notEqual(answer.status, 200, JSON.stringify(answer.body));
  assert.equal(answer.body.code, 'CHANNEL_UNAVAILABLE', JSON.stringify(answer.body));
}

describe('alipay orders the payer has not opened yet', () => {
  it('defect 7: an unscanned QR code queried past QUERY_ATTENTION_AFTER_FAILURES is not flagged and can still be paid', async () => {
    const id = await newOrder();
    const { payUrl } = await pay(id, 'qr');
    const answers = await eventually(
      async () => {
        const results = await activityResults(system.temporal, id, 'queryChannelOrder');
        return results.length >= 4 && results;
      },
      { what: 'four scheduled queries' },
    );
    assert.deepEqual(
      answers.map((fact) => (fact as { status: string }).status),
      answers.map(() => 'PENDING'),
      'Alipay answering ACQ.TRADE_NOT_EXIST for an unscanned QR code is waiting for the payer',
    );
    const waiting = await system.payOrder(id);
    assert.equal(waiting.needsAttention, false, 'not flagged for an operator');
    assert.equal(waiting.status, 'PAYING');

    await payerOpensAndPays(payUrl);
    const paid = await reached(system, id, 'SUCCEEDED');
    assert.equal(paid.needsAttention, false);
    assert.deepEqual(
      paid.attempts.map((a: { status: string }) => a.status),
      ['SUCCEEDED'],
    );
    await assertInvariant(id);
  });

  it('defect 7: a merchant close of a never-opened page order before its time_expire is not taken as confirmed', async () => {
    const id = await newOrder();
    const { payUrl } = await pay(id, 'page');
    assertNotConfirmed(await system.api('POST', `/v1/pay-orders/${id}/close`));
    const open = await system.payOrder(id);
    assert.equal(open.status, 'PAYING', 'still payable, so not CLOSED');
    assert.deepEqual(
      open.attempts.map((a: { status: string }) => a.status),
      ['PENDING'],
    );

    // The signed URL is valid until time_expire: the payer pays it, and the order has the money.
    await payerOpensAndPays(payUrl);
    const paid = await reached(system, id, 'SUCCEEDED');
    assert.deepEqual(paid.refunds, []);
    await assertInvariant(id);
  });

  it('defect 7: a channel switch away from a never-opened page order waits for a close Alipay confirms', async () => {
    const id = await newOrder();
    const page = await pay(id, 'page');
    const switched = await system.api('POST', `/v1/pay-orders/${id}/pay`, {
      channel: 'sandbox',
      method: 'page',
    });
    assertNotConfirmed(switched);
    assert.deepEqual(
      (await system.payOrder(id)).attempts.map((a: { outTradeNo: string; status: string }) => [
        a.outTradeNo,
        a.status,
      ]),
      [[page.outTradeNo, 'PENDING']],
      'no second channel order while the first can still be paid',
    );

    // Once the payer has opened it, the trade exists at Alipay and its close is confirmed.
    assert.equal((await fetch(page.payUrl)).status, 200);
    const retried = await system.api('POST', `/v1/pay-orders/${id}/pay`, {
      channel: 'sandbox',
      method: 'page',
    });
    assert.equal(retried.status, 200, JSON.stringify(retried.body));
    const atAlipay = await system.simulator('GET', `/control/payments/${page.outTradeNo}`);
    assert.equal(atAlipay.body.trade_status, 'TRADE_CLOSED');
    const v = await system.payOrder(id);
    assert.deepEqual(
      v.attempts.map((a: { channel: string; status: string }) => [a.channel, a.status]),
      [
        ['alipay', 'CLOSED'],
        ['sandbox', 'PENDING'],
      ],
    );
    await assertInvariant(id);
  });

  it('defect 7: after time_expire the close of never-opened Alipay orders is confirmed', async () => {
    const pageId = await newOrder(3);
    const page = await pay(pageId, 'page');
    const qrId = await newOrder(3);
    const qr = await pay(qrId, 'qr');
    for (const id of [pageId, qrId]) {
      const closed = await reached(system, id, 'CLOSED');
      assert.equal(closed.needsAttention, false);
      assert.deepEqual(
        closed.attempts.map((a: { status: string }) => a.status),
        ['CLOSED'],
      );
      await assertInvariant(id);
    }
    // Past time_expire Alipay no longer lets the payer open either.
    const lateOpen = await fetch(page.payUrl, { redirect: 'manual' });
    assert.equal(lateOpen.status, 400);
    assert.match(await lateOpen.text(), /ACQ\.TRADE_HAS_CLOSE/);
    const lateScan = await fetch(qr.payUrl, { method: 'POST', redirect: 'manual' });
    assert.notEqual(lateScan.status, 200, 'an expired QR code cannot be paid');
  });
});
