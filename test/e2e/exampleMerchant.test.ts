// Issue 18: the TypeScript client (packages/client) and the example shop built on it
// (examples/merchant) against the running system: the shop creates a pay order through the
// client, the payer pays at the sandbox, the shop receives paycenter's signed notification,
// verifies it and fulfils the order once, however often the event is sent again; a forged
// notification is refused. The client's errors carry paycenter's problem.
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import {
  createPaycenterClient,
  PaycenterError,
  signatureHeader,
  type PaycenterClient,
} from '@paycenter/client';
import { createShop } from '../../examples/merchant/shop';
import { payerPays, unique } from '../support/payments';
import { eventually, startTestSystem, type TestSystem } from '../support/system';

let system: TestSystem;
let paycenter: PaycenterClient;
let shop: ReturnType<typeof createShop>;
let shopUrl: string;

before(async () => {
  system = await startTestSystem({ env: { MERCHANT_NOTIFY_RETRY_SECONDS: '1,1' } });
  const merchant = await system.createMerchant('Example shop');
  paycenter = createPaycenterClient({ baseUrl: system.apiUrl, apiKey: merchant.apiKey.key });
  shop = createShop({ paycenter, notifySecrets: [merchant.notifySecret] });
  await new Promise<void>((resolve) => shop.server.listen(0, '127.0.0.1', resolve));
  shopUrl = `http://127.0.0.1:${(shop.server.address() as AddressInfo).port}`;
});
after(async () => {
  shop?.server.close();
  await system?.stop();
});

async function checkout(merchantOrderNo: string, amount: number) {
  const answer = await fetch(`${shopUrl}/checkout`, {
    method: 'POST',
    body: JSON.stringify({ merchantOrderNo, amount, subject: 'Oolong 乌龙' }),
  });
  assert.equal(answer.status, 201, await answer.clone().text());
  return (await answer.json()) as { payOrderId: string; cashierUrl: string };
}

describe('the example shop on the TypeScript client', () => {
  it('is paid, told, and fulfils the order once however often the event comes', async () => {
    const merchantOrderNo = unique('shop');
    const order = await checkout(merchantOrderNo, 2_680);
    assert.match(order.payOrderId, /^po_/);
    // A retried checkout is the same pay order (the client sends the Idempotency-Key).
    assert.equal((await checkout(merchantOrderNo, 2_680)).payOrderId, order.payOrderId);

    const paying = await paycenter.pay(order.payOrderId, { channel: 'sandbox' });
    assert.equal(paying.attempt.channel, 'sandbox');
    await payerPays(system, paying.attempt.outTradeNo);

    const fulfilled = await eventually(async () => {
      const kept = shop.books.orders.get(merchantOrderNo);
      return kept?.paidAt ? kept : undefined;
    });
    assert.equal(fulfilled.fulfilments, 1);
    assert.equal((await paycenter.getPayOrder(order.payOrderId)).status, 'SUCCEEDED');

    // The event, as the merchant API lists it, sent again: the shop takes it and changes nothing.
    const { items } = await paycenter.listEvents({ payOrderId: order.payOrderId });
    const succeeded = items.find((e) => e.type === 'pay_order.succeeded');
    assert.ok(succeeded, 'the succeeded event is listed');
    const redelivery = await paycenter.redeliverEvent(succeeded.id);
    assert.equal(redelivery.status, 'QUEUED');
    const details = await eventually(async () => {
      const event = await paycenter.getEvent(succeeded.id);
      return (
        event.attempts.some((a) => a.trigger === 'REDELIVERY' && a.responseStatus === 200) && event
      );
    });
    assert.ok(details.attempts.length >= 2);
    assert.equal(shop.books.orders.get(merchantOrderNo)?.fulfilments, 1);
    assert.ok(shop.books.handledEvents.has(succeeded.id));
  });

  it('refuses a notification paycenter did not sign, and fulfils nothing', async () => {
    const merchantOrderNo = unique('forged');
    await checkout(merchantOrderNo, 990);
    const forged = JSON.stringify({
      id: 'evt_01M8Z5Q6W0N2S3T4V5W6X7Y8Z9',
      type: 'pay_order.succeeded',
      createdAt: new Date().toISOString(),
      data: {
        merchantOrderNo,
        payOrderId: 'po_x',
        status: 'SUCCEEDED',
        amount: 990,
        currency: 'CNY',
      },
    });
    const answer = await fetch(shop.notifyUrl(), {
      method: 'POST',
      headers: { [signatureHeader]: `t=${Math.floor(Date.now() / 1000)},v1=${'0'.repeat(64)}` },
      body: forged,
    });
    assert.equal(answer.status, 400);
    assert.deepEqual(await answer.json(), { rejected: 'BAD_SIGNATURE' });
    const badCheckout = await fetch(`${shopUrl}/checkout`, {
      method: 'POST',
      body: JSON.stringify({ merchantOrderNo, amount: 12.5, subject: 'Tea' }),
    });
    assert.equal(badCheckout.status, 400);
    assert.match(((await badCheckout.json()) as { error: string }).error, /minor units/);
    assert.equal(shop.books.orders.get(merchantOrderNo)?.fulfilments, 0);
  });

  it("raises paycenter's problem as PaycenterError, with the request's ID", async () => {
    const refused = await paycenter
      .createPayOrder({ merchantOrderNo: unique('bad'), amount: -1, currency: 'CNY', subject: 'x' })
      .catch((err: unknown) => err);
    assert.ok(refused instanceof PaycenterError);
    assert.equal(refused.status, 400);
    assert.equal(refused.code, 'VALIDATION_FAILED');
    assert.match(refused.problem?.detail ?? '', /body\.amount/);
    assert.ok(refused.requestId);

    const missing = await paycenter.getPayOrder('po_01M8Z5Q6W0N2S3T4V5W6X7Y8Z9').catch((e) => e);
    assert.ok(missing instanceof PaycenterError);
    assert.equal(missing.status, 404);
    assert.equal(missing.code, 'NOT_FOUND');

    const wrongKey = createPaycenterClient({ baseUrl: system.apiUrl, apiKey: 'pk_test_nope' });
    const unknown = await wrongKey.listPayOrders().catch((e) => e);
    assert.equal((unknown as PaycenterError).status, 401);
  });
});
