// The merchant is told about every terminal change: signed, with a stable event ID, retried on a
// schedule until its endpoint answers 2xx, and every try recorded.
// @cluster: the merchant told of every terminal change, retried until it answers.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { asc, eq } from 'drizzle-orm';
import { verifyMerchantNotification } from '../../src/domain/merchantSignature';
import {
  merchantNotificationDeliveries,
  merchantNotifications,
  merchants,
} from '../../src/db/schema';
import { demoMerchantId } from '../../src/services/merchants';
import { openNotifySecrets } from '../../src/services/notifySecrets';
import { MerchantEndpoint } from '../support/merchantEndpoint';
import { expectMoneyConserved } from '../support/money';
import { createPayOrder, payerPays, payingOrder, type OrderRequest } from '../support/payments';
import { eventually, startTestSystem, testSecretBox, type TestSystem } from '../support/system';

let system: TestSystem;
const merchant = new MerchantEndpoint();
before(async () => {
  await merchant.start();
  system = await startTestSystem({ env: { MERCHANT_NOTIFY_RETRY_SECONDS: '1,1' } });
});
after(async () => {
  await system?.stop();
  await merchant.stop();
});

/** A pay order whose merchant hears of it at `path` of the merchant's endpoint. */
const order = (path: string): OrderRequest => ({
  prefix: 'notify',
  amount: 3_000,
  subject: 'Books',
  notifyUrl: `${merchant.url}${path}`,
});

describe('merchant notifications', () => {
  it('tells the merchant a payment succeeded, retrying until 2xx with the same signed event', async () => {
    merchant.scripts.set('/paid', [500]);
    const { id, outTradeNo } = await payingOrder(system, order('/paid'));
    await payerPays(system, outTradeNo);

    const tries = await eventually(
      async () => merchant.at('/paid').length >= 2 && merchant.at('/paid'),
    );
    const [first, second] = tries;
    assert.equal(first!.eventId, second!.eventId);
    assert.equal(first!.body, second!.body);
    const event = JSON.parse(second!.body);
    assert.equal(event.id, second!.eventId);
    assert.equal(event.type, 'pay_order.succeeded');
    assert.equal(event.data.payOrderId, id);
    assert.equal(event.data.status, 'SUCCEEDED');
    assert.equal(event.data.amount, 3_000);

    const [row] = await system.database.db
      .select({ stored: merchants.notifySecret })
      .from(merchants)
      .where(eq(merchants.id, demoMerchantId));
    const secret = openNotifySecrets(testSecretBox, row!.stored).current;
    assert.ok(verifyMerchantNotification(secret, second!.body, second!.signature, Date.now()));
    assert.ok(
      !verifyMerchantNotification('another secret', second!.body, second!.signature, Date.now()),
    );
    assert.ok(
      !verifyMerchantNotification(secret, `${second!.body} `, second!.signature, Date.now()),
    );

    const stored = await eventually(async () => {
      const [n] = await system.database.db
        .select()
        .from(merchantNotifications)
        .where(eq(merchantNotifications.eventId, event.id));
      return n?.status === 'DELIVERED' && n;
    });
    assert.ok(stored.deliveredAt);
    const deliveries = await system.database.db
      .select()
      .from(merchantNotificationDeliveries)
      .where(eq(merchantNotificationDeliveries.eventId, event.id))
      .orderBy(asc(merchantNotificationDeliveries.attemptNo));
    assert.deepEqual(
      deliveries.map((d) => [d.attemptNo, d.responseStatus]),
      [
        [1, 500],
        [2, 200],
      ],
    );
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(merchant.at('/paid').length, 2, 'no delivery after the 2xx');
    await expectMoneyConserved(system, id);
  });

  it('tells the merchant an order closed, and then that a late payment was refunded', async () => {
    const { id, outTradeNo } = await payingOrder(system, order('/late'));
    await system.api('POST', `/v1/pay-orders/${id}/close`);
    await payerPays(system, outTradeNo);

    const events = await eventually(async () => {
      const got = merchant.at('/late').map((r) => JSON.parse(r.body));
      return got.length >= 2 && got;
    });
    assert.deepEqual(
      events.map((e) => e.type),
      ['pay_order.closed', 'pay_order.refunded'],
    );
    assert.equal(events[1].data.refund.reason, 'LATE_PAYMENT');
    assert.equal(events[1].data.refund.amount, 3_000);
    assert.notEqual(events[0].id, events[1].id);
    await expectMoneyConserved(system, id);
  });

  it('gives up after the schedule when the merchant never answers 2xx, and says so', async () => {
    merchant.scripts.set('/down', [503, 503, 503, 503]);
    const id = await createPayOrder(system, order('/down'));
    await system.api('POST', `/v1/pay-orders/${id}/close`);
    const failed = await eventually(async () => {
      const [n] = await system.database.db
        .select()
        .from(merchantNotifications)
        .where(eq(merchantNotifications.payOrderId, id));
      return n?.status === 'FAILED' && n;
    });
    assert.equal(merchant.at('/down').length, 3, 'one try and two retries');
    assert.equal(failed.type, 'pay_order.closed');
  });
});
