// Money the order does not need goes back: a payment after the order closed (LATE_PAYMENT) and a
// second channel order paid after the first (DUPLICATE_PAYMENT) are refunded at the channel.
// After each scenario the money invariant holds: channel successes minus refunds equal the order
// amount if it SUCCEEDED, else zero.
// @cluster: a payment after the order closed and a second channel order paid: both refunded.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { eq } from 'drizzle-orm';
import { businessDayOf } from '../../src/domain/businessDay';
import { createChannels } from '../../src/channels/registry';
import { refunds } from '../../src/db/schema';
import { expectMoneyConserved } from '../support/money';
import { eventually, startTestSystem, type TestSystem } from '../support/system';
import { createPayOrder, openChannelOrder } from '../support/payments';
import { readStatement } from '../support/statements';

let system: TestSystem;
before(async () => {
  system = await startTestSystem();
});
after(async () => {
  await system?.stop();
});

const AMOUNT = 8_800;

const newOrder = () =>
  createPayOrder(system, {
    prefix: 'extra',
    amount: AMOUNT,
    subject: 'Concert ticket',
    expiresInSeconds: 300,
  });
const pay = async (id: string, method: string) =>
  (await openChannelOrder(system, id, { channel: 'sandbox', method })).outTradeNo;

describe('payments the order does not need', () => {
  it('refunds a payment that lands after the order closed (LATE_PAYMENT)', async () => {
    const id = await newOrder();
    const outTradeNo = await pay(id, 'page');
    assert.equal((await system.api('POST', `/v1/pay-orders/${id}/close`)).body.status, 'CLOSED');

    // The payer's payment crosses the close at the channel.
    assert.equal(
      (await system.simulator('POST', `/control/payments/${outTradeNo}/pay`)).status,
      200,
    );
    const refunded = await eventually(async () => {
      const v = await system.payOrder(id);
      return v.refunds.length === 1 && v.refunds[0].status === 'SUCCEEDED' && v;
    });
    assert.equal(refunded.status, 'CLOSED');
    assert.deepEqual(
      refunded.refunds.map((r: { amount: number; reason: string }) => [r.amount, r.reason]),
      [[AMOUNT, 'LATE_PAYMENT']],
    );
    const rows = await system.database.db.select().from(refunds).where(eq(refunds.payOrderId, id));
    assert.equal(rows.length, 1);
    assert.equal(rows[0]!.attemptId, refunded.attempts[0].id);
    assert.equal((await expectMoneyConserved(system, id)).netAtChannel, 0);

    // The merchant finds paycenter's own refund in its refund list, by its reason.
    const listed = await system.api('GET', `/v1/refunds?payOrderId=${id}&reason=LATE_PAYMENT`);
    assert.deepEqual(
      listed.body.items.map((r: { id: string; reason: string }) => [r.id, r.reason]),
      [[rows[0]!.id, 'LATE_PAYMENT']],
    );
    const asked = await system.api('GET', `/v1/refunds?payOrderId=${id}&reason=MERCHANT_REQUEST`);
    assert.deepEqual(asked.body.items, []);
  });

  it('refunds the second of two paid channel orders (DUPLICATE_PAYMENT)', async () => {
    const id = await newOrder();
    const first = await pay(id, 'page');
    const second = await pay(id, 'qr'); // closes the first at the channel
    assert.equal((await system.simulator('POST', `/control/payments/${first}/pay`)).status, 200);
    await eventually(async () => (await system.payOrder(id)).status === 'SUCCEEDED');
    assert.equal((await system.simulator('POST', `/control/payments/${second}/pay`)).status, 200);

    const refunded = await eventually(async () => {
      const v = await system.payOrder(id);
      return v.refunds.length === 1 && v.refunds[0].status === 'SUCCEEDED' && v;
    });
    assert.equal(refunded.status, 'SUCCEEDED');
    assert.equal(refunded.refunds[0].reason, 'DUPLICATE_PAYMENT');
    assert.equal(refunded.refunds[0].amount, AMOUNT);
    assert.equal((await expectMoneyConserved(system, id)).netAtChannel, AMOUNT);
  });

  it('keeps the books whole for a plain payment: nothing refunded', async () => {
    const id = await newOrder();
    const outTradeNo = await pay(id, 'page');
    await system.simulator('POST', `/control/payments/${outTradeNo}/pay`);
    const paid = await eventually(async () => {
      const v = await system.payOrder(id);
      return v.status === 'SUCCEEDED' && v;
    });
    assert.deepEqual(paid.refunds, []);
    assert.equal((await expectMoneyConserved(system, id)).netAtChannel, AMOUNT);
  });

  it("shows the payment and its refund in the channel's statement of the day", async () => {
    const id = await newOrder();
    const outTradeNo = await pay(id, 'page');
    await system.api('POST', `/v1/pay-orders/${id}/close`);
    await system.simulator('POST', `/control/payments/${outTradeNo}/pay`);
    await eventually(async () => (await system.payOrder(id)).refunds[0]?.status === 'SUCCEEDED');

    const sandbox = createChannels(system.config).get('sandbox')!;
    const statement = await readStatement(sandbox, businessDayOf(new Date()));
    const mine = statement.lines.filter((l) => l.outTradeNo === outTradeNo);
    assert.deepEqual(
      mine.map((l) => [l.kind, l.amount, l.currency]),
      [
        ['PAYMENT', AMOUNT, 'CNY'],
        ['REFUND', AMOUNT, 'CNY'],
      ],
    );
    assert.equal(mine[1]!.refundNo, (await system.payOrder(id)).refunds[0].id);
    assert.match(statement.raw.toString('utf8'), new RegExp(outTradeNo));
  });
});
