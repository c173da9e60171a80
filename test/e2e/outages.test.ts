// A part paycenter depends on that is down for a while, or a payment workflow that answers late,
// is not the merchant's fault: the API answers 503 with Retry-After (never a bare 500 or a hung
// request), keeps nothing half done, and the same request answers once the part is back.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { eq } from 'drizzle-orm';
import { payOrders } from '../../src/db/schema';
import { expectMoneyConserved } from '../support/money';
import {
  retriedWhileUnavailable,
  runDatabaseUrl,
  startTestSystem,
  type TestSystem,
} from '../support/system';
import { startTcpProxy, type TcpProxy } from '../support/tcpProxy';

let system: TestSystem;
let databaseLink: TcpProxy;
before(async () => {
  const direct = new URL(runDatabaseUrl());
  databaseLink = await startTcpProxy({ host: direct.hostname, port: Number(direct.port || 5432) });
  const viaLink = new URL(direct);
  viaLink.host = databaseLink.address;
  system = await startTestSystem({
    databaseUrl: viaLink.toString(),
    env: { UPDATE_WAIT_SECONDS: '1', SYNC_PAY_WAIT_SECONDS: '4', QUERY_SCHEDULE_SECONDS: '1' },
  });
});
after(async () => {
  databaseLink?.restore();
  await system?.stop();
  await databaseLink?.close();
});

const orderBody = (merchantOrderNo: string) => ({
  merchantOrderNo,
  amount: 4_250,
  currency: 'CNY',
  subject: 'Desk lamp',
});

describe('a dependency that is down, or a workflow that answers late', () => {
  it('answers 503 STILL_PROCESSING with Retry-After; the same pay request later answers the outcome', async () => {
    const created = await system.api('POST', '/v1/pay-orders', orderBody(`late-${Date.now()}`));
    assert.equal(created.status, 201);
    const id = created.body.id as string;
    // The bank settles after 2.5 s; the pay request waits for it longer than the API may wait.
    await system.simulator('POST', '/bankcard/control/next-card', {
      outcome: 'accepted',
      settleAfterMs: 2_500,
    });
    const pay = () =>
      system.api(
        'POST',
        `/v1/pay-orders/${id}/pay`,
        { channel: 'bankcard', method: 'quick' },
        { 'idempotency-key': `pay-${id}` },
      );
    const first = await pay();
    assert.equal(first.status, 503, JSON.stringify(first.body));
    assert.equal(first.body.code, 'STILL_PROCESSING');
    assert.equal(first.retryAfter, '2');

    // The payment went on without the request: asking again learns that it was paid.
    const again = await retriedWhileUnavailable(pay, 'the pay request to answer');
    assert.equal(again.status, 409, JSON.stringify(again.body));
    assert.equal(again.body.code, 'ALREADY_PAID');
    const order = (await system.api('GET', `/v1/pay-orders/${id}`)).body;
    assert.equal(order.status, 'SUCCEEDED');
    assert.equal(order.attempts.length, 1, 'one channel order, however often the payer asked');
    await expectMoneyConserved(system, id);
  });

  it('answers 503 TEMPORARILY_UNAVAILABLE while the database is unreachable, and stores the order once after', async () => {
    const merchantOrderNo = `outage-${Date.now()}`;
    const create = () =>
      system.api('POST', '/v1/pay-orders', orderBody(merchantOrderNo), {
        'idempotency-key': merchantOrderNo,
      });
    databaseLink.cut();
    try {
      const refused = await create();
      assert.equal(refused.status, 503, JSON.stringify(refused.body));
      assert.equal(refused.body.code, 'TEMPORARILY_UNAVAILABLE');
      assert.match(refused.body.detail, /database is unavailable/);
      assert.equal(refused.retryAfter, '2');
      const read = await system.api('GET', '/v1/pay-orders?limit=1');
      assert.equal(read.status, 503);
    } finally {
      databaseLink.restore();
    }
    const created = await retriedWhileUnavailable(create, 'the API to reach the database again');
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const stored = await system.database.db
      .select()
      .from(payOrders)
      .where(eq(payOrders.merchantOrderNo, merchantOrderNo));
    assert.deepEqual(
      stored.map((row) => row.id),
      [created.body.id],
    );
  });
});
