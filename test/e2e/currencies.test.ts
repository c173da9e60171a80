// An order in a currency no channel of the deployment takes is refused when it is created (422,
// naming the currencies taken), not when the payer tries to pay; the cashier offers only the
// channels that take the order's currency. Here the sandbox takes CNY and USD, the other channels
// CNY alone.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { eq } from 'drizzle-orm';
import { payOrders } from '../../src/db/schema';
import { newId } from '../../src/domain/ids';
import { demoMerchantId } from '../../src/services/merchants';
import { unique } from '../support/payments';
import { startTestSystem, type TestSystem } from '../support/system';

let system: TestSystem;
before(async () => {
  system = await startTestSystem({ env: { SANDBOX_CURRENCIES: 'CNY,USD' } });
});
after(async () => {
  await system?.stop();
});

const order = (currency: string, merchantOrderNo = unique('cur')) => ({
  merchantOrderNo,
  amount: 1_999,
  currency,
  subject: 'A kettle',
});

/** The channels the cashier page offers the payer. */
async function cashierChannels(cashierUrl: string): Promise<string[]> {
  const page = await (await fetch(cashierUrl)).text();
  const offered = [...page.matchAll(/<input type="hidden" name="channel" value="([a-z]+)">/g)];
  return [...new Set(offered.map((m) => m[1]!))].sort();
}

describe('currencies', () => {
  it('refuses at create a currency no channel takes, and stores nothing', async () => {
    const merchantOrderNo = unique('eur');
    const refused = await system.api('POST', '/v1/pay-orders', order('EUR', merchantOrderNo));
    assert.equal(refused.status, 422, JSON.stringify(refused.body));
    assert.equal(refused.body.code, 'CURRENCY_NOT_ACCEPTED');
    assert.equal(refused.body.type, 'invalid_request_error');
    assert.match(refused.body.detail, /takes EUR; accepted: CNY, USD/);
    assert.deepEqual(refused.body.errors, [
      { field: 'body.currency', message: 'must be one of: CNY, USD' },
    ]);
    const stored = await system.database.db
      .select()
      .from(payOrders)
      .where(eq(payOrders.merchantOrderNo, merchantOrderNo));
    assert.deepEqual(stored, []);

    // The number is still free for an order the channels can take.
    const taken = await system.api('POST', '/v1/pay-orders', order('CNY', merchantOrderNo));
    assert.equal(taken.status, 201, JSON.stringify(taken.body));
  });

  it('answers a repeat of an order stored before its currency was refused as any repeat', async () => {
    // Stored while a channel took EUR (as if SANDBOX_CURRENCIES was narrowed since).
    const merchantOrderNo = unique('eur-before');
    const [stored] = await system.database.db
      .insert(payOrders)
      .values({
        id: newId('po', Date.now(), Math.random),
        merchantId: demoMerchantId,
        merchantOrderNo,
        amount: 1_999,
        currency: 'EUR',
        subject: 'A kettle',
        expiresAt: new Date(Date.now() + 600_000),
        workflowStarted: true,
      })
      .returning();
    const repeat = await system.api('POST', '/v1/pay-orders', order('EUR', merchantOrderNo));
    assert.equal(repeat.status, 200, JSON.stringify(repeat.body));
    assert.equal(repeat.body.id, stored!.id);
    const other = await system.api('POST', '/v1/pay-orders', {
      ...order('EUR', merchantOrderNo),
      amount: 2_000,
    });
    assert.equal(other.status, 409, JSON.stringify(other.body));
    assert.equal(other.body.code, 'PAY_ORDER_CONFLICT');
  });

  it('offers the payer only the channels that take the order’s currency', async () => {
    const usd = await system.api('POST', '/v1/pay-orders', order('USD'));
    assert.equal(usd.status, 201, JSON.stringify(usd.body));
    assert.deepEqual(await cashierChannels(usd.body.cashierUrl), ['sandbox']);

    const cny = await system.api('POST', '/v1/pay-orders', order('CNY'));
    assert.equal(cny.status, 201, JSON.stringify(cny.body));
    assert.deepEqual(await cashierChannels(cny.body.cashierUrl), [
      'alipay',
      'bankcard',
      'sandbox',
      'wechatpay',
    ]);

    // The API refuses a channel that does not take the order's currency as before.
    const alipay = await system.api('POST', `/v1/pay-orders/${usd.body.id}/pay`, {
      channel: 'alipay',
      method: 'page',
    });
    assert.equal(alipay.status, 400, JSON.stringify(alipay.body));
    assert.equal(alipay.body.code, 'UNSUPPORTED_CHANNEL');
  });
});
