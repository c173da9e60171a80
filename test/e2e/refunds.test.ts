// Refunds merchants ask for: partial or full, several per order, idempotent by merchantRefundNo,
// and never above what was paid, even when many arrive at once. The channel's own books must end
// with exactly what paycenter says it refunded.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { eq } from 'drizzle-orm';
import { payOrders, refunds } from '../../src/db/schema';
import { newId } from '../../src/domain/ids';
import { ensureMerchant, generateSecret } from '../../src/services/merchants';
import { expectMoneyConserved } from '../support/money';
import { eventually, startTestSystem, testSecretBox, type TestSystem } from '../support/system';
import { createPayOrder, paidOrder as paid, unique } from '../support/payments';

let system: TestSystem;
before(async () => {
  system = await startTestSystem();
});
after(async () => {
  await system?.stop();
});

const AMOUNT = 10_000;
/** The order every scenario here refunds, paid on the sandbox's page. */
const goods = {
  prefix: 'refund-order',
  amount: AMOUNT,
  subject: 'Refundable goods',
  expiresInSeconds: 300,
};
const newOrder = () => createPayOrder(system, goods);
const paidOrder = () => paid(system, goods, { channel: 'sandbox', method: 'page' });

/** A pay order paid through the sandbox: its ID and the channel order's out_trade_no. */
const refund = (payOrderId: string, amount: number, more: Record<string, unknown> = {}) =>
  system.api('POST', '/v1/refunds', {
    payOrderId,
    merchantRefundNo: unique('rfd'),
    amount,
    ...more,
  });

/** What the simulator's own books say was refunded of one channel order. */
async function refundedAtChannel(outTradeNo: string) {
  const trade = (await system.simulator('GET', `/control/payments/${outTradeNo}`)).body;
  return (trade.refunds as { refund_status: string; refund_amount: number }[])
    .filter((r) => r.refund_status === 'REFUND_SUCCESS')
    .reduce((sum, r) => sum + r.refund_amount, 0);
}

async function settled(refundId: string) {
  return eventually(
    async () => {
      const answer = await system.api('GET', `/v1/refunds/${refundId}`);
      return answer.body.status !== 'PROCESSING' && answer.body;
    },
    { what: `refund ${refundId} settled` },
  );
}

const storedRefunds = (payOrderId: string) =>
  system.database.db.select().from(refunds).where(eq(refunds.payOrderId, payOrderId));

describe('merchant refunds', () => {
  it('refunds a paid order in full, and the refund reaches SUCCEEDED at the channel', async () => {
    const { id, outTradeNo } = await paidOrder();
    const created = await refund(id, AMOUNT, { reason: 'customer changed their mind' });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.match(created.body.id, /^rf_[0-9A-Z]{26}$/);
    assert.ok(!Number.isNaN(Date.parse(created.body.createdAt)));
    assert.deepEqual(
      { ...created.body, id: undefined, merchantRefundNo: undefined, createdAt: undefined },
      {
        id: undefined,
        createdAt: undefined,
        payOrderId: id,
        merchantRefundNo: undefined,
        amount: AMOUNT,
        currency: 'CNY',
        reason: 'customer changed their mind',
        status: 'PROCESSING',
      },
    );
    const done = await settled(created.body.id);
    assert.equal(done.status, 'SUCCEEDED');
    assert.equal(await refundedAtChannel(outTradeNo), AMOUNT);

    const [row] = await storedRefunds(id);
    assert.equal(row!.reason, 'MERCHANT_REQUEST');
    assert.equal(row!.note, 'customer changed their mind');
    assert.equal(row!.workflowStarted, true);

    // The pay order view lists it; the order stays paid.
    const order = await system.payOrder(id);
    assert.equal(order.status, 'SUCCEEDED');
    assert.deepEqual(order.refunds, [
      {
        id: created.body.id,
        attemptId: order.attempts[0].id,
        amount: AMOUNT,
        reason: 'MERCHANT_REQUEST',
        status: 'SUCCEEDED',
      },
    ]);
    // Nothing is left to refund.
    const more = await refund(id, 1);
    assert.equal(more.status, 409);
    assert.equal(more.body.code, 'REFUND_EXCEEDS_PAYMENT');
    await expectMoneyConserved(system, id);
  });

  it('takes two partial refunds of one order', async () => {
    const { id, outTradeNo } = await paidOrder();
    const first = await refund(id, 3_000);
    const second = await refund(id, 7_000);
    assert.equal(first.status, 201);
    assert.equal(second.status, 201);
    assert.notEqual(first.body.id, second.body.id);
    assert.equal(first.body.reason, null);
    assert.equal((await settled(first.body.id)).status, 'SUCCEEDED');
    assert.equal((await settled(second.body.id)).status, 'SUCCEEDED');
    assert.equal(await refundedAtChannel(outTradeNo), AMOUNT);
    const order = await system.payOrder(id);
    assert.deepEqual(
      order.refunds.map((r: { amount: number }) => r.amount).sort((a: number, b: number) => a - b),
      [3_000, 7_000],
    );
    await expectMoneyConserved(system, id);
  });

  it('answers a repeat with the same refund and refuses another body for the same number', async () => {
    const { id, outTradeNo } = await paidOrder();
    const body = { payOrderId: id, merchantRefundNo: unique('rfd'), amount: 2_500, reason: 'x' };
    const first = await system.api('POST', '/v1/refunds', body);
    assert.equal(first.status, 201);
    const again = await system.api('POST', '/v1/refunds', body);
    assert.equal(again.status, 200);
    assert.equal(again.body.id, first.body.id);

    const other = await system.api('POST', '/v1/refunds', { ...body, amount: 2_600 });
    assert.equal(other.status, 409);
    assert.match(other.contentType, /application\/problem\+json/);
    assert.equal(other.body.code, 'REFUND_CONFLICT');
    const otherReason = await system.api('POST', '/v1/refunds', { ...body, reason: 'y' });
    assert.equal(otherReason.body.code, 'REFUND_CONFLICT');

    assert.equal((await storedRefunds(id)).length, 1);
    await settled(first.body.id);
    // A repeat after it settled still answers the same refund, with its status.
    const late = await system.api('POST', '/v1/refunds', body);
    assert.equal(late.status, 200);
    assert.equal(late.body.status, 'SUCCEEDED');
    assert.equal(await refundedAtChannel(outTradeNo), 2_500);
    await expectMoneyConserved(system, id);
  });

  it('starts the workflow on a repeat when the first request stored the refund but did not start it', async () => {
    const { id, outTradeNo } = await paidOrder();
    const body = { payOrderId: id, merchantRefundNo: unique('rfd'), amount: 1_000 };
    // As if the API stopped between the insert and the start: a row, no workflow.
    const [order] = await system.database.db.select().from(payOrders).where(eq(payOrders.id, id));
    const rowId = newId('rf', Date.now(), Math.random);
    await system.database.db.insert(refunds).values({
      id: rowId,
      payOrderId: id,
      merchantId: order!.merchantId,
      attemptId: order!.paidAttemptId!,
      merchantRefundNo: body.merchantRefundNo,
      amount: body.amount,
      currency: 'CNY',
      reason: 'MERCHANT_REQUEST',
      status: 'PROCESSING',
    });
    const again = await system.api('POST', '/v1/refunds', body);
    assert.equal(again.status, 200);
    assert.equal(again.body.id, rowId);
    assert.equal((await settled(rowId)).status, 'SUCCEEDED');
    assert.equal(await refundedAtChannel(outTradeNo), 1_000);
    await expectMoneyConserved(system, id);
  });

  it('refuses to refund an order that is not paid (ORDER_NOT_PAID)', async () => {
    const id = await newOrder();
    const answer = await refund(id, 100);
    assert.equal(answer.status, 409);
    assert.match(answer.contentType, /application\/problem\+json/);
    assert.equal(answer.body.code, 'ORDER_NOT_PAID');
    assert.equal((await storedRefunds(id)).length, 0);
  });

  it('refuses a refund above the paid amount and stores nothing (REFUND_EXCEEDS_PAYMENT)', async () => {
    const { id, outTradeNo } = await paidOrder();
    const over = await refund(id, AMOUNT + 1);
    assert.equal(over.status, 409);
    assert.equal(over.body.code, 'REFUND_EXCEEDS_PAYMENT');
    assert.equal((await storedRefunds(id)).length, 0);

    const part = await refund(id, 6_000);
    assert.equal(part.status, 201);
    const rest = await refund(id, 4_001);
    assert.equal(rest.body.code, 'REFUND_EXCEEDS_PAYMENT');
    assert.equal((await storedRefunds(id)).length, 1);
    await settled(part.body.id);
    assert.equal(await refundedAtChannel(outTradeNo), 6_000);
    await expectMoneyConserved(system, id);
  });

  it("answers another merchant's pay order and refunds as not found", async () => {
    const { id } = await paidOrder();
    const mine = await refund(id, 500);
    assert.equal(mine.status, 201);

    const otherKey = generateSecret('pk_test');
    await ensureMerchant(
      system.database.db,
      { id: 'mch_other', name: 'Other merchant' },
      otherKey,
      testSecretBox,
    );
    const asOther = { authorization: `Bearer ${otherKey}` };
    const answer = await system.api(
      'POST',
      '/v1/refunds',
      { payOrderId: id, merchantRefundNo: unique('rfd'), amount: 100 },
      asOther,
    );
    assert.equal(answer.status, 404);
    assert.equal(answer.body.code, 'NOT_FOUND');
    assert.equal(
      (await system.api('GET', `/v1/refunds/${mine.body.id}`, undefined, asOther)).status,
      404,
    );
    const byNo = await system.api(
      'GET',
      `/v1/refunds?merchantRefundNo=${mine.body.merchantRefundNo}`,
      undefined,
      asOther,
    );
    assert.deepEqual(byNo.body, { items: [], nextCursor: null });
    const ofOrder = await system.api('GET', `/v1/refunds?payOrderId=${id}`, undefined, asOther);
    assert.deepEqual(ofOrder.body, { items: [], nextCursor: null });
    assert.equal((await storedRefunds(id)).length, 1);
  });

  it('lists refunds newest first, filtered, a page at a time', async () => {
    const { id } = await paidOrder();
    const other = await paidOrder();
    const first = (await refund(id, 1_000)).body;
    const second = (await refund(id, 2_000, { reason: 'damaged' })).body;
    const third = (await refund(id, 3_000)).body;
    const elsewhere = (await refund(other.id, 500)).body;
    const list = async (query: string) => {
      const answer = await system.api('GET', `/v1/refunds?${query}`);
      assert.equal(answer.status, 200, `${query}: ${JSON.stringify(answer.body)}`);
      return answer.body as { items: { id: string }[]; nextCursor: string | null };
    };
    const ids = async (query: string) => (await list(query)).items.map((r) => r.id);

    const all = await list(`payOrderId=${id}`);
    assert.deepEqual(
      all.items.map((r) => r.id),
      [third.id, second.id, first.id],
    );
    assert.equal(all.nextCursor, null);
    // The item is the refund as created (its status may have moved on since).
    assert.deepEqual({ ...all.items[1], status: undefined }, { ...second, status: undefined });

    // Pages of one: each page starts after the last, none repeats, the last says so.
    const pages: string[] = [];
    let cursor: string | null = '';
    while (cursor !== null) {
      const page = await list(`payOrderId=${id}&limit=1${cursor ? `&cursor=${cursor}` : ''}`);
      pages.push(...page.items.map((r) => r.id));
      cursor = page.nextCursor;
    }
    assert.deepEqual(pages, [third.id, second.id, first.id]);

    assert.deepEqual(
      await ids(`merchantRefundNo=${encodeURIComponent(elsewhere.merchantRefundNo)}`),
      [elsewhere.id],
    );
    assert.deepEqual(await ids('merchantRefundNo=no-such-refund'), []);
    assert.deepEqual(await ids(`payOrderId=${id}&reason=MERCHANT_REQUEST`), [
      third.id,
      second.id,
      first.id,
    ]);
    assert.deepEqual(await ids(`payOrderId=${id}&reason=DUPLICATE_PAYMENT`), []);
    assert.deepEqual(
      await ids(`payOrderId=${id}&createdFrom=${encodeURIComponent(second.createdAt)}`),
      [third.id, second.id],
    );
    assert.deepEqual(
      await ids(`payOrderId=${id}&createdTo=${encodeURIComponent(second.createdAt)}`),
      [first.id],
    );
    await settled(third.id);
    await settled(first.id);
    await settled(second.id);
    assert.deepEqual(await ids(`payOrderId=${id}&status=SUCCEEDED`), [
      third.id,
      second.id,
      first.id,
    ]);
    assert.deepEqual(await ids(`payOrderId=${id}&status=PROCESSING`), []);
  });

  it('answers 400 naming the field for every bad refund list parameter', async () => {
    const payOrderCursor = (await system.api('GET', '/v1/pay-orders?limit=1')).body
      .nextCursor as string;
    assert.ok(payOrderCursor, 'the demo merchant has more than one pay order');
    const cases: [string, string[]][] = [
      ['payOrderId=rf_00000000000000000000000000', ['query.payOrderId']],
      ['status=DONE', ['query.status']],
      ['reason=damaged', ['query.reason']],
      ['merchantRefundNo=has%20space', ['query.merchantRefundNo']],
      ['createdFrom=yesterday', ['query.createdFrom']],
      ['createdFrom=2026-02-01T00:00:00Z&createdTo=2026-01-01T00:00:00Z', ['query.createdTo']],
      ['limit=0', ['query.limit']],
      // A cursor of another list (pay orders) is not one of this list.
      [`cursor=${payOrderCursor}`, ['query.cursor']],
      ['limt=5', ['query']],
    ];
    for (const [query, fields] of cases) {
      const answer = await system.api('GET', `/v1/refunds?${query}`);
      assert.equal(answer.status, 400, `${query}: ${JSON.stringify(answer.body)}`);
      assert.equal(answer.body.code, 'VALIDATION_FAILED');
      assert.deepEqual(
        answer.body.errors.map((e: { field: string }) => e.field).sort(),
        fields,
        query,
      );
    }
  });

  it('never refunds more than was paid when 50 refunds arrive at once', async () => {
    const { id, outTradeNo } = await paidOrder();
    const answers = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        system.api('POST', '/v1/refunds', {
          payOrderId: id,
          merchantRefundNo: unique(`burst-${i}`),
          amount: AMOUNT / 10,
        }),
      ),
    );
    const created = answers.filter((a) => a.status === 201);
    const refused = answers.filter((a) => a.status === 409);
    assert.equal(created.length, 10, JSON.stringify(answers.map((a) => a.status)));
    assert.equal(refused.length, 40);
    for (const a of refused) assert.equal(a.body.code, 'REFUND_EXCEEDS_PAYMENT');
    assert.equal((await storedRefunds(id)).length, 10);

    for (const a of created) assert.equal((await settled(a.body.id)).status, 'SUCCEEDED');
    assert.equal(await refundedAtChannel(outTradeNo), AMOUNT);
    const order = await system.payOrder(id);
    assert.equal(order.refunds.length, 10);
    await expectMoneyConserved(system, id);
  });
});
