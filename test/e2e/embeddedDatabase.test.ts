// Smoke test of the newcomer's fallback: the whole flow on embedded PGlite instead of PostgreSQL.
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { eventually, startTestSystem, type TestSystem } from '../support/system';

let system: TestSystem;
before(async () => {
  system = await startTestSystem({ embeddedDatabase: true });
});
after(async () => {
  await system?.stop();
});

it('takes a payment from create to SUCCEEDED on embedded PGlite', async () => {
  assert.equal(system.database.kind, 'pglite');
  const order = {
    merchantOrderNo: `pglite-${Date.now()}`,
    amount: 100,
    currency: 'CNY',
    subject: 'Tea',
  };
  const created = await system.api('POST', '/v1/pay-orders', order);
  assert.equal(created.status, 201, JSON.stringify(created.body));
  assert.equal((await system.api('POST', '/v1/pay-orders', order)).body.id, created.body.id);

  const { attempt } = (
    await system.api('POST', `/v1/pay-orders/${created.body.id}/pay`, { channel: 'sandbox' })
  ).body;
  assert.equal(
    (await system.simulator('POST', `/control/payments/${attempt.outTradeNo}/pay`)).status,
    200,
  );
  const view = await eventually(async () => {
    const answer = await system.api('GET', `/v1/pay-orders/${created.body.id}`);
    return answer.body.status === 'SUCCEEDED' && answer.body;
  });
  assert.equal(view.attempts[0].status, 'SUCCEEDED');
  // The channel's notification went through the inbox's own statement on PGlite too.
  const stored = await eventually(async () => {
    const [row] = await system.inbox('sandbox', attempt.outTradeNo);
    return row?.status !== 'RECEIVED' && row;
  });
  assert.equal(stored.payOrderId, created.body.id);
  assert.ok(['DELIVERED', 'ALREADY_PAID'].includes(stored.status), stored.status);
});
