// One payment end to end over HTTP: merchant creates, payer pays at the sandbox channel, the channel
// notifies, the workflow settles, the merchant reads SUCCEEDED. Plus the guards around it.
// @cluster: one payment from create to SUCCEEDED through the real Temporal server.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { eq } from 'drizzle-orm';
import { signedHeaders } from '../../src/channels/sandbox/protocol';
import { channelNotifications, payOrders } from '../../src/db/schema';
import { searchAttributes } from '../../src/workflows/contracts/payment';
import { expectMoneyConserved } from '../support/money';
import { payingOrder, postSandboxNotification, sandboxSuccess } from '../support/payments';
import { eventually, startTestSystem, type TestSystem } from '../support/system';

let system: TestSystem;
before(async () => {
  system = await startTestSystem();
});
after(async () => {
  await system?.stop();
});

function newOrder(overrides: Record<string, unknown> = {}) {
  return {
    merchantOrderNo: `order-${Date.now()}-${Math.floor(Math.random() * 1e6)}`,
    amount: 12_345,
    currency: 'CNY',
    subject: 'Two coffees',
    expiresInSeconds: 600,
    notifyUrl: 'http://127.0.0.1:9/merchant/notify',
    ...overrides,
  };
}

async function statusOf(id: string) {
  return (await system.api('GET', `/v1/pay-orders/${id}`)).body;
}

describe('a payment through the sandbox channel', () => {
  it('goes from create to SUCCEEDED, and the books and Temporal agree', async () => {
    const order = newOrder();
    const created = await system.api('POST', '/v1/pay-orders', order);
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const id: string = created.body.id;
    assert.match(id, /^po_[0-9A-Z]{26}$/);
    assert.equal(created.body.status, 'CREATED');
    assert.equal(created.body.amount, 12_345);
    assert.equal(created.body.merchantOrderNo, order.merchantOrderNo);
    assert.match(created.body.cashierUrl, new RegExp(`^${system.apiUrl}/cashier/${id}\\?token=`));

    // The pay order ID is the workflow ID.
    const handle = system.temporal.workflow.getHandle(id);
    assert.equal((await handle.describe()).workflowId, id);

    const paid = await system.api('POST', `/v1/pay-orders/${id}/pay`, { channel: 'sandbox' });
    assert.equal(paid.status, 200, JSON.stringify(paid.body));
    const attempt = paid.body.attempt;
    assert.equal(attempt.channel, 'sandbox');
    assert.equal(attempt.method, 'page');
    assert.equal(attempt.status, 'PENDING');
    assert.equal(attempt.payUrl, `${system.simulatorUrl}/pay/${attempt.outTradeNo}`);
    assert.equal((await statusOf(id)).status, 'PAYING');

    // The payer pays on the channel's page; the channel notifies paycenter.
    const payPage = await fetch(attempt.payUrl, { method: 'POST' });
    assert.equal(payPage.status, 200);

    const settled = await eventually(
      async () => {
        const view = await statusOf(id);
        return view.status === 'SUCCEEDED' && view;
      },
      { what: 'SUCCEEDED' },
    );
    assert.equal(settled.needsAttention, false);
    assert.deepEqual(
      settled.attempts.map((a: { status: string; outTradeNo: string }) => [a.outTradeNo, a.status]),
      [[attempt.outTradeNo, 'SUCCEEDED']],
    );
    assert.deepEqual(settled.refunds, []);

    // The channel got its "success" and stopped; the raw notification is in the inbox.
    const trade = (await system.simulator('GET', `/control/payments/${attempt.outTradeNo}`)).body;
    assert.equal(trade.trade_status, 'TRADE_SUCCESS');
    assert.equal(trade.notifications.at(-1).outcome, 'acknowledged');
    // Marked once its hand-over is recorded, which may come just after the workflow's save.
    const inbox = await eventually(async () => {
      const rows = await system.database.db
        .select()
        .from(channelNotifications)
        .where(eq(channelNotifications.outTradeNo, attempt.outTradeNo));
      return rows.every((row) => row.status === 'DELIVERED') && rows;
    });
    assert.equal(inbox.length, 1);
    assert.equal(inbox[0]!.status, 'DELIVERED');
    assert.equal(inbox[0]!.payOrderId, id);
    assert.match(inbox[0]!.rawBody, /TRADE_SUCCESS/);

    // Operators find it in Temporal by its search attributes.
    const described = await eventually(
      async () => {
        const d = await handle.describe();
        return d.typedSearchAttributes.get(searchAttributes.payStatus) === 'SUCCEEDED' && d;
      },
      { what: 'PayStatus search attribute' },
    );
    const attrs = described.typedSearchAttributes;
    assert.equal(attrs.get(searchAttributes.merchantId), 'mch_demo');
    assert.equal(attrs.get(searchAttributes.merchantOrderNo), order.merchantOrderNo);
    assert.equal(attrs.get(searchAttributes.payChannel), 'sandbox');
    assert.equal(attrs.get(searchAttributes.needsAttention), false);

    // Paying a paid order is refused, and no new channel order is made.
    const again = await system.api('POST', `/v1/pay-orders/${id}/pay`, { channel: 'sandbox' });
    assert.equal(again.status, 409);
    assert.equal(again.body.code, 'ALREADY_PAID');
    assert.equal(again.contentType, 'application/problem+json; charset=utf-8');
    assert.equal((await statusOf(id)).attempts.length, 1);
    await expectMoneyConserved(system, id);
  });

  it('answers a repeated create with the same pay order, and a changed one with 409', async () => {
    const order = newOrder();
    const first = await system.api('POST', '/v1/pay-orders', order);
    assert.equal(first.status, 201);
    const second = await system.api('POST', '/v1/pay-orders', order);
    assert.equal(second.status, 200);
    assert.equal(second.body.id, first.body.id);
    assert.equal(second.body.expiresAt, first.body.expiresAt);

    // The workflow for that ID exists once; a second start is rejected by Temporal.
    const runs = [];
    for await (const run of system.temporal.workflow.list({
      query: `WorkflowId = '${first.body.id}'`,
    })) {
      runs.push(run);
    }
    assert.equal(runs.length, 1);

    const otherAmount = await system.api('POST', '/v1/pay-orders', { ...order, amount: 999 });
    assert.equal(otherAmount.status, 409);
    assert.equal(otherAmount.body.code, 'PAY_ORDER_CONFLICT');
    assert.deepEqual(
      otherAmount.body.errors.map((e: { field: string }) => e.field),
      ['amount'],
    );
    const otherCurrency = await system.api('POST', '/v1/pay-orders', { ...order, currency: 'USD' });
    assert.equal(otherCurrency.status, 409);

    const stored = await statusOf(first.body.id);
    assert.equal(stored.amount, order.amount);
    assert.equal(stored.currency, 'CNY');
  });

  it('rejects a forged notification before it touches any state', async () => {
    const created = await system.api('POST', '/v1/pay-orders', newOrder());
    const id = created.body.id;
    const { attempt } = (
      await system.api('POST', `/v1/pay-orders/${id}/pay`, { channel: 'sandbox' })
    ).body;

    const forged = JSON.stringify({
      notify_id: 'forged-1',
      out_trade_no: attempt.outTradeNo,
      trade_no: 'SBXFORGED',
      trade_status: 'TRADE_SUCCESS',
      total_amount: 12_345,
      currency: 'CNY',
    });
    const wrongKey = signedHeaders(
      'paycenter-demo',
      'not-the-sandbox-secret-at-all',
      forged,
      Date.now(),
    );
    for (const headers of [wrongKey, {}]) {
      const answer = await fetch(`${system.apiUrl}/webhooks/sandbox`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: forged,
      });
      assert.equal(answer.status, 401);
      assert.equal(((await answer.json()) as { code: string }).code, 'INVALID_SIGNATURE');
    }
    // A real signature over other bytes does not carry over either.
    const signedElsewhere = signedHeaders(
      system.config.SANDBOX_APP_ID,
      system.config.SANDBOX_SECRET,
      forged.replace('12345', '1'),
      Date.now(),
    );
    const tampered = await fetch(`${system.apiUrl}/webhooks/sandbox`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...signedElsewhere },
      body: forged,
    });
    assert.equal(tampered.status, 401);

    // Nothing of it was stored (other test files write to the same database, so look at this order).
    const stored = await system.database.db
      .select()
      .from(channelNotifications)
      .where(eq(channelNotifications.outTradeNo, attempt.outTradeNo));
    assert.deepEqual(stored, []);
    const view = await statusOf(id);
    assert.equal(view.status, 'PAYING');
    assert.equal(view.attempts[0].status, 'PENDING');
    const [row] = await system.database.db.select().from(payOrders).where(eq(payOrders.id, id));
    assert.equal(row!.status, 'PAYING');
  });

  it('refuses a signed notification whose text cannot be stored, storing nothing', async () => {
    const { id, outTradeNo } = await payingOrder(system, {
      prefix: 'unstorable',
      amount: 12_345,
      subject: 'Two coffees',
    });
    const success = { notifyId: `lone-${id}`, outTradeNo, tradeNo: 'SBXLONE', amount: 12_345 };
    // A lone UTF-16 surrogate or a NUL, which JSON.stringify writes as escapes (\ud800, \u0000):
    // signed, yet no text PostgreSQL's JSON can keep.
    for (const [field, lone] of [
      ['dedupeKey', { notifyId: 'lone-\ud800' }],
      ['fact.channelTradeNo', { tradeNo: 'SBX\udc00' }],
      ['fact.channelTradeNo', { tradeNo: 'SBX\u0000' }],
    ] as const) {
      const answer = await postSandboxNotification(system, sandboxSuccess({ ...success, ...lone }));
      assert.equal(answer.status, 400, field);
      const problem = (await answer.json()) as { code: string; errors: { field: string }[] };
      assert.equal(problem.code, 'VALIDATION_FAILED');
      assert.deepEqual(
        problem.errors.map((e) => e.field),
        [field],
      );
    }
    const stored = await system.database.db
      .select()
      .from(channelNotifications)
      .where(eq(channelNotifications.outTradeNo, outTradeNo));
    assert.deepEqual(stored, []);
    assert.equal((await statusOf(id)).status, 'PAYING');
  });

  it('refuses a create whose text cannot be stored, naming the fields, and keeps nothing of it', async () => {
    const order = newOrder();
    // A NUL and a lone UTF-16 surrogate: found by the fuzz as a 500 from PostgreSQL.
    const refused = await system.api('POST', '/v1/pay-orders', {
      ...order,
      subject: 'sandbox\u0000',
      notifyUrl: 'http://127.0.0.1:9/\ud800',
    });
    assert.equal(refused.status, 400);
    assert.equal(refused.body.code, 'VALIDATION_FAILED');
    assert.deepEqual(refused.body.errors.map((e: { field: string }) => e.field).sort(), [
      'body.notifyUrl',
      'body.subject',
    ]);
    // The same order number is still free: the refused create stored nothing.
    const created = await system.api('POST', '/v1/pay-orders', order);
    assert.equal(created.status, 201);
    assert.equal(created.body.subject, order.subject);
  });

  it('refuses requests without a valid merchant key and bad bodies with named fields', async () => {
    const noKey = await system.api(
      'GET',
      '/v1/pay-orders/po_00000000000000000000000000',
      undefined,
      {
        authorization: '',
      },
    );
    assert.equal(noKey.status, 401);
    const wrongKey = await system.api('POST', '/v1/pay-orders', newOrder(), {
      authorization: 'Bearer nope',
    });
    assert.equal(wrongKey.status, 401);

    const bad = await system.api(
      'POST',
      '/v1/pay-orders',
      newOrder({ amount: 12.5, currency: 'XXX' }),
    );
    assert.equal(bad.status, 400);
    assert.equal(bad.body.code, 'VALIDATION_FAILED');
    assert.deepEqual(bad.body.errors.map((e: { field: string }) => e.field).sort(), [
      'body.amount',
      'body.currency',
    ]);
    const malformed = await system.api('POST', '/v1/pay-orders', '{"amount": ');
    assert.equal(malformed.status, 400);
    assert.equal(malformed.body.code, 'MALFORMED_JSON');
    const missing = await system.api('GET', '/v1/pay-orders/po_00000000000000000000000000');
    assert.equal(missing.status, 404);
    const badChannel = await system.api('POST', '/v1/pay-orders', newOrder());
    const refused = await system.api('POST', `/v1/pay-orders/${badChannel.body.id}/pay`, {
      channel: 'nowhere',
    });
    assert.equal(refused.status, 400);
    assert.equal(refused.body.code, 'UNSUPPORTED_CHANNEL');
  });

  it('refuses a currency a channel does not take (0 and 3 decimals), before any channel call', async () => {
    for (const [currency, amount] of [
      ['JPY', 500],
      ['KWD', 1_234],
    ] as const) {
      const created = await system.api('POST', '/v1/pay-orders', newOrder({ currency, amount }));
      assert.equal(created.status, 201);
      for (const channel of ['alipay', 'wechatpay', 'bankcard']) {
        const refused = await system.api('POST', `/v1/pay-orders/${created.body.id}/pay`, {
          channel,
        });
        assert.equal(refused.status, 400, `${channel} ${currency}`);
        assert.equal(refused.body.code, 'UNSUPPORTED_CHANNEL');
      }
      assert.deepEqual((await statusOf(created.body.id)).attempts, []);
    }
  });

  it('answers health checks on the API and the sandbox', async () => {
    assert.equal((await system.api('GET', '/healthz')).status, 200);
    assert.equal((await system.simulator('GET', '/healthz')).status, 200);
  });
});
