// 掉单: the channel's notification never arrives. The workflow's timer-based queries settle the
// order anyway; when queries fail too, the order is flagged for an operator, not forgotten.
// @cluster: the notification that never arrives (掉单), found by query.
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { and, eq } from 'drizzle-orm';
import { channelNotifications } from '../../src/db/schema';
import { searchAttributes } from '../../src/workflows/contracts/payment';
import { expectMoneyConserved } from '../support/money';
import { eventually, startTestSystem, type TestSystem } from '../support/system';
import { payingOrder } from '../support/payments';

let system: TestSystem;
before(async () => {
  system = await startTestSystem({
    env: {
      QUERY_SCHEDULE_SECONDS: '1',
      QUERY_ATTENTION_AFTER_FAILURES: '3',
      QUERY_RARE_SECONDS: '2',
    },
  });
});
after(async () => {
  await system?.stop();
});
beforeEach(async () => {
  await system.simulator('DELETE', '/control/faults');
});

/** The order every scenario here pays for, on the sandbox channel. */
const noodles = { prefix: 'lost', amount: 4_200, subject: 'Noodles', expiresInSeconds: 300 };

describe('lost channel notifications', () => {
  it('settles a paid order by query when every notification is dropped', async () => {
    await system.simulator('POST', '/control/faults', { dropNotifications: true });
    const { id, outTradeNo } = await payingOrder(system, noodles);
    assert.equal(
      (await system.simulator('POST', `/control/payments/${outTradeNo}/pay`)).status,
      200,
    );

    const settled = await eventually(async () => {
      const v = await system.payOrder(id);
      return v.status === 'SUCCEEDED' && v;
    });
    assert.equal(settled.needsAttention, false);
    const trade = (await system.simulator('GET', `/control/payments/${outTradeNo}`)).body;
    assert.deepEqual(
      trade.notifications.map((n: { outcome: string }) => n.outcome),
      ['dropped (fault)'],
    );
    const inbox = await system.database.db
      .select()
      .from(channelNotifications)
      .where(
        and(
          eq(channelNotifications.channel, 'sandbox'),
          eq(channelNotifications.outTradeNo, outTradeNo),
        ),
      );
    assert.equal(inbox.length, 0, 'settled without any notification');
    await expectMoneyConserved(system, id);
  });

  it('flags the order for an operator when queries fail too, and settles it once they work', async () => {
    await system.simulator('POST', '/control/faults', {
      dropNotifications: true,
      failQueries: true,
    });
    const { id, outTradeNo } = await payingOrder(system, noodles);
    await system.simulator('POST', `/control/payments/${outTradeNo}/pay`);

    const flagged = await eventually(async () => {
      const v = await system.payOrder(id);
      return v.needsAttention && v;
    });
    assert.equal(flagged.status, 'PAYING');
    const exceptions = await system.api('GET', '/ops/exceptions?code=CHANNEL_SILENT', undefined, {
      authorization: `Bearer ${system.opsKey}`,
    });
    assert.equal(exceptions.status, 200);
    const listed = exceptions.body.items.find((item: { id: string }) => item.id === id);
    assert.match(listed.attentionReason, /did not answer \d+ times in a row/);
    assert.equal(listed.channel, 'sandbox');
    // The workflow writes the row first and its search attributes when that write has completed.
    await eventually(async () => {
      const described = await system.temporal.workflow.getHandle(id).describe();
      return described.typedSearchAttributes.get(searchAttributes.needsAttention) === true;
    });
    const asMerchant = await system.api('GET', '/ops/exceptions');
    assert.equal(asMerchant.status, 401, 'the merchant key is not an ops key');

    // The channel recovers: the rare query finds the payment.
    await system.simulator('DELETE', '/control/faults');
    const settled = await eventually(async () => {
      const v = await system.payOrder(id);
      return v.status === 'SUCCEEDED' && v;
    });
    assert.equal(settled.attempts[0].status, 'SUCCEEDED');
    await expectMoneyConserved(system, id);
  });

  it('hands over a notification acknowledged but never handed to the workflow (the API stopped)', async () => {
    const { id, outTradeNo } = await payingOrder(system, noodles);
    await system.simulator('POST', `/control/payments/${outTradeNo}/faults`, {
      dropNotifications: true,
      failQueries: true,
    });
    await system.simulator('POST', `/control/payments/${outTradeNo}/pay`);
    // What the inbox holds when its process stopped between the answer and the hand-over.
    await system.database.db.insert(channelNotifications).values({
      id: `ntf_${outTradeNo}`,
      channel: 'sandbox',
      dedupeKey: `stopped-${outTradeNo}`,
      outTradeNo,
      payOrderId: id,
      headers: {},
      rawBody: '{}',
      fact: { outTradeNo, status: 'SUCCEEDED', amount: 4_200, source: 'notify' },
      status: 'RECEIVED',
      receivedAt: new Date(Date.now() - 60_000),
    });
    const settled = await eventually(
      async () => {
        const v = await system.payOrder(id);
        return v.status === 'SUCCEEDED' && v;
      },
      { timeoutMs: 40_000, what: 'the inbox to hand the notification over again' },
    );
    assert.equal(settled.attempts[0].status, 'SUCCEEDED');
    const row = await eventually(async () => {
      const [stored] = await system.database.db
        .select()
        .from(channelNotifications)
        .where(eq(channelNotifications.dedupeKey, `stopped-${outTradeNo}`));
      return stored?.status === 'DELIVERED' && stored;
    });
    assert.equal(row.deliveries, 1);
    await expectMoneyConserved(system, id);
  });

  it('answers the fresh status at once when asked to sync after paying', async () => {
    await system.simulator('POST', '/control/faults', { dropNotifications: true });
    const { id, outTradeNo } = await payingOrder(system, noodles);
    assert.equal((await system.payOrder(id)).status, 'PAYING');
    await system.simulator('POST', `/control/payments/${outTradeNo}/pay`);
    const synced = await system.api('POST', `/v1/pay-orders/${id}/sync`);
    assert.equal(synced.status, 200);
    assert.equal(synced.body.status, 'SUCCEEDED');
    await expectMoneyConserved(system, id);
  });

  it('closes an order at the merchant request, closing its channel order first', async () => {
    const { id, outTradeNo } = await payingOrder(system, noodles);
    const closed = await system.api('POST', `/v1/pay-orders/${id}/close`);
    assert.equal(closed.status, 200);
    assert.equal(closed.body.status, 'CLOSED');
    assert.equal(closed.body.attempts[0].status, 'CLOSED');
    const trade = (await system.simulator('GET', `/control/payments/${outTradeNo}`)).body;
    assert.equal(trade.trade_status, 'TRADE_CLOSED');

    const payAgain = await system.api('POST', `/v1/pay-orders/${id}/pay`, { channel: 'sandbox' });
    assert.equal(payAgain.status, 409);
    assert.equal(payAgain.body.code, 'ORDER_CLOSED');
    assert.equal((await system.api('POST', `/v1/pay-orders/${id}/close`)).body.status, 'CLOSED');
    await expectMoneyConserved(system, id);
  });

  it('refuses to close a paid order', async () => {
    const { id, outTradeNo } = await payingOrder(system, noodles);
    await system.simulator('POST', `/control/payments/${outTradeNo}/pay`);
    await eventually(async () => (await system.payOrder(id)).status === 'SUCCEEDED');
    const close = await system.api('POST', `/v1/pay-orders/${id}/close`);
    assert.equal(close.status, 409);
    assert.equal(close.body.code, 'ALREADY_PAID');
    assert.equal((await system.payOrder(id)).status, 'SUCCEEDED');
    await expectMoneyConserved(system, id);
  });
});
