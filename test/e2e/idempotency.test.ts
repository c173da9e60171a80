// `Idempotency-Key` on the merchant API's POSTs: the first answer is replayed for the same request,
// another request with the key is refused, keys are per merchant, and many concurrent requests
// with one key have exactly one effect.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { eq } from 'drizzle-orm';
import { idempotencyKeys, payOrders } from '../../src/db/schema';
import { ensureMerchant, generateSecret } from '../../src/services/merchants';
import { startTestSystem, testSecretBox, type TestSystem } from '../support/system';
import { payOrderBody, unique } from '../support/payments';

let system: TestSystem;
before(async () => {
  system = await startTestSystem();
});
after(async () => {
  await system?.stop();
});

const orderBody = (merchantOrderNo = unique('idem-order'), amount = 1234) =>
  payOrderBody({
    prefix: 'idem-order',
    merchantOrderNo,
    amount,
    subject: 'Idempotent goods',
    expiresInSeconds: 300,
  });

/** A POST with its raw text and headers (the shared helper does not answer headers). */
async function post(
  path: string,
  body: unknown,
  headers: Record<string, string>,
  apiKey = system.apiKey,
) {
  const response = await fetch(`${system.apiUrl}${path}`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${apiKey}`,
      'content-type': 'application/json',
      ...headers,
    },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await response.text();
  return {
    status: response.status,
    contentType: response.headers.get('content-type') ?? '',
    replayed: response.headers.get('idempotent-replayed'),
    text,
    body: text ? JSON.parse(text) : undefined,
  };
}

async function ordersNamed(merchantOrderNo: string) {
  return system.database.db
    .select({ id: payOrders.id, merchantId: payOrders.merchantId })
    .from(payOrders)
    .where(eq(payOrders.merchantOrderNo, merchantOrderNo));
}

describe('Idempotency-Key', () => {
  it('replays the first answer for the same key and body, and creates one pay order', async () => {
    const key = unique('key');
    const body = orderBody();
    const first = await post('/v1/pay-orders', body, { 'idempotency-key': key });
    assert.equal(first.status, 201, first.text);
    assert.equal(first.replayed, null);

    const second = await post('/v1/pay-orders', body, { 'idempotency-key': key });
    assert.equal(second.status, 201);
    assert.equal(second.replayed, 'true');
    assert.equal(second.text, first.text);
    assert.equal(second.contentType, first.contentType);
    assert.equal((await ordersNamed(body.merchantOrderNo)).length, 1);
  });

  it('refuses the same key with another body, method or path with 422', async () => {
    const key = unique('key');
    const body = orderBody();
    assert.equal((await post('/v1/pay-orders', body, { 'idempotency-key': key })).status, 201);

    const otherBody = await post('/v1/pay-orders', orderBody(unique('other')), {
      'idempotency-key': key,
    });
    assert.equal(otherBody.status, 422);
    assert.match(otherBody.contentType, /application\/problem\+json/);
    assert.equal(otherBody.body.code, 'IDEMPOTENCY_KEY_REUSED');

    const sameJsonOtherBytes = await post('/v1/pay-orders', JSON.stringify(body, null, 2), {
      'idempotency-key': key,
    });
    assert.equal(sameJsonOtherBytes.status, 422, 'the raw body is hashed');

    const otherPath = await post(
      `/v1/pay-orders/${(await ordersNamed(body.merchantOrderNo))[0]!.id}/close`,
      body,
      { 'idempotency-key': key },
    );
    assert.equal(otherPath.status, 422);
    assert.equal(otherPath.body.code, 'IDEMPOTENCY_KEY_REUSED');
  });

  it('keeps keys per merchant', async () => {
    const otherKey = generateSecret('pk_test');
    await ensureMerchant(
      system.database.db,
      { id: unique('mch_idem'), name: 'Second merchant' },
      otherKey,
      testSecretBox,
    );
    const key = unique('key');
    const body = orderBody();
    const mine = await post('/v1/pay-orders', body, { 'idempotency-key': key });
    const theirs = await post('/v1/pay-orders', body, { 'idempotency-key': key }, otherKey);
    assert.equal(mine.status, 201, mine.text);
    assert.equal(theirs.status, 201, theirs.text);
    assert.equal(theirs.replayed, null);
    assert.notEqual(theirs.body.id, mine.body.id);
    const rows = await ordersNamed(body.merchantOrderNo);
    assert.equal(rows.length, 2);
    assert.equal(new Set(rows.map((r) => r.merchantId)).size, 2);
  });

  it('runs exactly one of many concurrent requests with one key', async () => {
    const key = unique('key');
    const body = orderBody();
    const answers = await Promise.all(
      Array.from({ length: 10 }, () => post('/v1/pay-orders', body, { 'idempotency-key': key })),
    );
    const statuses = answers.map((a) => `${a.status}${a.replayed ? ' replayed' : ''}`);
    const ran = answers.filter((a) => a.status === 201 && a.replayed === null);
    assert.equal(ran.length, 1, statuses.join(', '));
    for (const answer of answers) {
      if (answer.status === 409) {
        assert.equal(answer.body.code, 'IDEMPOTENCY_KEY_IN_USE');
      } else {
        assert.equal(answer.status, 201, answer.text);
        if (answer !== ran[0]) {
          assert.equal(answer.replayed, 'true');
          assert.equal(answer.text, ran[0]!.text);
        }
      }
    }
    // No second create ran: it would have answered 200 with the existing order.
    assert.ok(!answers.some((a) => a.status === 200));
    assert.equal((await ordersNamed(body.merchantOrderNo)).length, 1);
    const again = await post('/v1/pay-orders', body, { 'idempotency-key': key });
    assert.equal(again.status, 201);
    assert.equal(again.replayed, 'true');
  });

  it('replays a 4xx answer too', async () => {
    const key = unique('key');
    const body = { ...orderBody(), amount: -5 };
    const first = await post('/v1/pay-orders', body, { 'idempotency-key': key });
    assert.equal(first.status, 400, first.text);
    assert.equal(first.body.code, 'VALIDATION_FAILED');
    const second = await post('/v1/pay-orders', body, { 'idempotency-key': key });
    assert.equal(second.status, 400);
    assert.equal(second.replayed, 'true');
    assert.equal(second.text, first.text);
    assert.match(second.contentType, /application\/problem\+json/);
  });

  it('behaves as before without the header', async () => {
    const body = orderBody();
    const first = await post('/v1/pay-orders', body, {});
    const second = await post('/v1/pay-orders', body, {});
    assert.equal(first.status, 201);
    assert.equal(second.status, 200);
    assert.equal(second.replayed, null);
    assert.equal(second.body.id, first.body.id);
    const rows = await system.database.db
      .select()
      .from(idempotencyKeys)
      .where(eq(idempotencyKeys.merchantId, 'mch_demo'));
    assert.ok(rows.every((r) => r.status === 'COMPLETED'));
  });

  it('treats an expired key as new', async () => {
    const key = unique('key');
    const first = orderBody();
    assert.equal((await post('/v1/pay-orders', first, { 'idempotency-key': key })).status, 201);
    await system.database.db
      .update(idempotencyKeys)
      .set({ createdAt: new Date(Date.now() - 25 * 3600_000) })
      .where(eq(idempotencyKeys.key, key));
    const second = orderBody();
    const answer = await post('/v1/pay-orders', second, { 'idempotency-key': key });
    assert.equal(answer.status, 201, answer.text);
    assert.equal(answer.replayed, null);
    assert.equal((await ordersNamed(second.merchantOrderNo)).length, 1);
  });

  it('replays a POST without a body', async () => {
    const created = await post('/v1/pay-orders', orderBody(), {});
    const key = unique('key');
    const close = async () => {
      const response = await fetch(`${system.apiUrl}/v1/pay-orders/${created.body.id}/close`, {
        method: 'POST',
        headers: { authorization: `Bearer ${system.apiKey}`, 'idempotency-key': key },
      });
      return {
        status: response.status,
        replayed: response.headers.get('idempotent-replayed'),
        text: await response.text(),
      };
    };
    const first = await close();
    assert.equal(first.status, 200, first.text);
    const second = await close();
    assert.equal(second.status, 200);
    assert.equal(second.replayed, 'true');
    assert.equal(second.text, first.text);
  });

  it('answers 400 naming the header when it is malformed', async () => {
    for (const bad of ['', 'has space', 'x'.repeat(256), 'caf\u00e9']) {
      const answer = await post('/v1/pay-orders', orderBody(), { 'idempotency-key': bad });
      assert.equal(answer.status, 400, `${JSON.stringify(bad)}: ${answer.text}`);
      assert.equal(answer.body.code, 'VALIDATION_FAILED');
      assert.match(answer.body.detail, /Idempotency-Key/);
    }
  });

  it('ignores the header on GET', async () => {
    const answer = await system.api('GET', '/v1/pay-orders', undefined, {
      'idempotency-key': 'has space',
    });
    assert.equal(answer.status, 200);
  });
});
