// Merchants read the events paycenter sent to their notify URL, with every try (status, duration,
// error), and have one sent again: a FAILED event redelivered reaches the merchant once, even
// when the request is repeated with its Idempotency-Key.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { eq } from 'drizzle-orm';
import { merchants } from '../../src/db/schema';
import { verifyMerchantNotification } from '../../src/domain/merchantSignature';
import { openNotifySecrets } from '../../src/services/notifySecrets';
import { MerchantEndpoint } from '../support/merchantEndpoint';
import { newMerchant, type MerchantCall } from '../support/merchants';
import { eventually, startTestSystem, testSecretBox, type TestSystem } from '../support/system';

let system: TestSystem;
const endpoint = new MerchantEndpoint();
before(async () => {
  await endpoint.start();
  system = await startTestSystem({ env: { MERCHANT_NOTIFY_RETRY_SECONDS: '1,1' } });
});
after(async () => {
  await system?.stop();
  await endpoint.stop();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** An order of `as` that is closed at once, so its merchant is told at `path`: its ID. */
async function closedOrder(as: MerchantCall, path: string): Promise<string> {
  const created = await as('POST', '/v1/pay-orders', {
    merchantOrderNo: `evt-${Date.now()}-${Math.floor(Math.random() * 1e6)}`,
    amount: 2_500,
    currency: 'CNY',
    subject: 'Lamp',
    notifyUrl: `${endpoint.url}${path}`,
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const closed = await as('POST', `/v1/pay-orders/${created.body.id}/close`);
  assert.equal(closed.status, 200, JSON.stringify(closed.body));
  return created.body.id as string;
}

/** The event of one order once its status is `status`. */
async function eventOf(as: MerchantCall, payOrderId: string, status: string) {
  return eventually(
    async () => {
      const page = await as('GET', `/v1/events?payOrderId=${payOrderId}`);
      assert.equal(page.status, 200, JSON.stringify(page.body));
      const [event] = page.body.items;
      return event?.status === status && event;
    },
    { what: `the event of ${payOrderId} ${status}` },
  );
}

describe('the merchant events API', () => {
  it('shows a FAILED event with every try, and a redelivery reaches the merchant once', async () => {
    const as = await newMerchant(system, 'events');
    endpoint.scripts.set('/failing', [500, 502, 503]);
    const payOrderId = await closedOrder(as, '/failing');
    const failed = await eventOf(as, payOrderId, 'FAILED');
    assert.match(failed.id, /^evt_[0-9A-Z]{26}$/);
    assert.equal(failed.type, 'pay_order.closed');
    assert.equal(failed.deliveredAt, null);
    assert.equal(failed.notifyUrl, `${endpoint.url}/failing`);
    assert.deepEqual(failed.data, {
      payOrderId,
      merchantOrderNo: failed.data.merchantOrderNo,
      status: 'CLOSED',
      amount: 2_500,
      currency: 'CNY',
    });
    const sent = endpoint.at('/failing');
    assert.equal(sent.length, 3);
    assert.deepEqual(JSON.parse(sent[0]!.body), {
      id: failed.id,
      type: 'pay_order.closed',
      createdAt: failed.createdAt,
      data: failed.data,
    });

    const view = await as('GET', `/v1/events/${failed.id}`);
    assert.equal(view.status, 200, JSON.stringify(view.body));
    assert.deepEqual(
      view.body.attempts.map((a: Record<string, unknown>) => [
        a.attemptNo,
        a.trigger,
        a.responseStatus,
        a.error,
      ]),
      [
        [1, 'SCHEDULE', 500, 'HTTP_5XX'],
        [2, 'SCHEDULE', 502, 'HTTP_5XX'],
        [3, 'SCHEDULE', 503, 'HTTP_5XX'],
      ],
    );
    for (const attempt of view.body.attempts) {
      assert.match(attempt.id, /^dlv_/);
      assert.equal(typeof attempt.durationMs, 'number');
      assert.ok(attempt.durationMs >= 0);
      assert.ok(!Number.isNaN(Date.parse(attempt.attemptedAt)));
    }

    // The merchant's endpoint works again; the redelivery is asked for twice with one key.
    const key = { 'idempotency-key': `redeliver-${failed.id}` };
    const first = await as('POST', `/v1/events/${failed.id}/redeliver`, undefined, key);
    assert.equal(first.status, 202, JSON.stringify(first.body));
    assert.match(first.body.id, /^dlv_[0-9A-Z]{26}$/);
    assert.deepEqual(first.body, { id: first.body.id, eventId: failed.id, status: 'QUEUED' });
    const again = await as('POST', `/v1/events/${failed.id}/redeliver`, undefined, key);
    assert.equal(again.status, 202);
    assert.deepEqual(again.body, first.body);

    const delivered = await eventOf(as, payOrderId, 'DELIVERED');
    assert.ok(!Number.isNaN(Date.parse(delivered.deliveredAt)));
    await sleep(1_500);
    const redelivered = endpoint.at('/failing').slice(3);
    assert.equal(redelivered.length, 1, 'one redelivery for one idempotency key');
    assert.equal(redelivered[0]!.eventId, failed.id);
    assert.equal(redelivered[0]!.body, sent[0]!.body, 'the same body, event ID included');
    const [row] = await system.database.db
      .select({ stored: merchants.notifySecret })
      .from(merchants)
      .where(eq(merchants.id, as.merchantId));
    const secret = openNotifySecrets(testSecretBox, row!.stored).current;
    assert.ok(
      verifyMerchantNotification(
        secret,
        redelivered[0]!.body,
        redelivered[0]!.signature,
        Date.now(),
      ),
    );

    const after = (await as('GET', `/v1/events/${failed.id}`)).body;
    assert.equal(after.status, 'DELIVERED');
    assert.deepEqual(
      after.attempts.map((a: Record<string, unknown>) => [
        a.attemptNo,
        a.trigger,
        a.responseStatus,
        a.error,
      ]),
      [
        [1, 'SCHEDULE', 500, 'HTTP_5XX'],
        [2, 'SCHEDULE', 502, 'HTTP_5XX'],
        [3, 'SCHEDULE', 503, 'HTTP_5XX'],
        [4, 'REDELIVERY', 200, null],
      ],
    );
    assert.equal(after.attempts[3].id, first.body.id);
  });

  it('redelivers a DELIVERED event on request, once per request', async () => {
    const as = await newMerchant(system, 'events_again');
    const payOrderId = await closedOrder(as, '/taken');
    const event = await eventOf(as, payOrderId, 'DELIVERED');
    assert.equal(endpoint.at('/taken').length, 1);

    const one = await as('POST', `/v1/events/${event.id}/redeliver`);
    const two = await as('POST', `/v1/events/${event.id}/redeliver`);
    assert.equal(one.status, 202);
    assert.equal(two.status, 202);
    assert.notEqual(one.body.id, two.body.id);
    const attempts = await eventually(async () => {
      const view = (await as('GET', `/v1/events/${event.id}`)).body;
      return view.attempts.length === 3 && view.attempts;
    });
    assert.deepEqual(
      attempts.map((a: { trigger: string; responseStatus: number }) => [
        a.trigger,
        a.responseStatus,
      ]),
      [
        ['SCHEDULE', 200],
        ['REDELIVERY', 200],
        ['REDELIVERY', 200],
      ],
    );
    assert.deepEqual(
      attempts
        .slice(1)
        .map((a: { id: string }) => a.id)
        .sort(),
      [one.body.id, two.body.id].sort(),
    );
    assert.equal(endpoint.at('/taken').length, 3);
  });

  it('lists events newest first, filtered, a page at a time, and none of another merchant', async () => {
    const as = await newMerchant(system, 'events_list');
    const older = await closedOrder(as, '/list');
    const newer = await closedOrder(as, '/list');
    const olderEvent = await eventOf(as, older, 'DELIVERED');
    const newerEvent = await eventOf(as, newer, 'DELIVERED');
    const ids = async (query: string) => {
      const page = await as('GET', `/v1/events${query}`);
      assert.equal(page.status, 200, `${query}: ${JSON.stringify(page.body)}`);
      return page.body.items.map((e: { id: string }) => e.id);
    };

    assert.deepEqual(await ids(''), [newerEvent.id, olderEvent.id]);
    const first = await as('GET', '/v1/events?limit=1');
    assert.deepEqual(
      first.body.items.map((e: { id: string }) => e.id),
      [newerEvent.id],
    );
    assert.deepEqual(await ids(`?limit=1&cursor=${first.body.nextCursor}`), [olderEvent.id]);
    assert.equal(
      (await as('GET', `/v1/events?limit=1&cursor=${first.body.nextCursor}`)).body.nextCursor,
      null,
    );
    assert.deepEqual(await ids('?type=pay_order.closed&status=DELIVERED'), [
      newerEvent.id,
      olderEvent.id,
    ]);
    assert.deepEqual(await ids('?type=pay_order.succeeded'), []);
    assert.deepEqual(await ids('?status=FAILED'), []);
    assert.deepEqual(await ids(`?payOrderId=${older}`), [olderEvent.id]);
    assert.deepEqual(await ids(`?createdFrom=${encodeURIComponent(newerEvent.createdAt)}`), [
      newerEvent.id,
    ]);

    // Another merchant sees none of them, and cannot redeliver them.
    const other = await newMerchant(system, 'events_other');
    assert.deepEqual((await other('GET', '/v1/events')).body, { items: [], nextCursor: null });
    assert.equal((await other('GET', `/v1/events/${olderEvent.id}`)).status, 404);
    const foreign = await other('POST', `/v1/events/${olderEvent.id}/redeliver`);
    assert.equal(foreign.status, 404);
    assert.equal(foreign.body.code, 'NOT_FOUND');
    await sleep(500);
    assert.equal(endpoint.at('/list').length, 2, 'nothing sent for the refused redelivery');
  });

  it('answers 400 naming the field for every bad events parameter', async () => {
    const cases: [string, string, string[]][] = [
      ['GET', '/v1/events?type=pay_order.paid', ['query.type']],
      ['GET', '/v1/events?status=LOST', ['query.status']],
      ['GET', '/v1/events?payOrderId=evt_1', ['query.payOrderId']],
      ['GET', '/v1/events?limit=1000', ['query.limit']],
      ['GET', '/v1/events?cursor=bm90IGpzb24', ['query.cursor']],
      ['GET', '/v1/events/po_01M8ZQN3J1SCE4KJP544VEEFR9', ['path.id']],
      ['POST', '/v1/events/not-an-event/redeliver', ['path.id']],
    ];
    for (const [method, path, fields] of cases) {
      const answer = await system.api(method, path);
      assert.equal(answer.status, 400, `${path}: ${JSON.stringify(answer.body)}`);
      assert.equal(answer.body.code, 'VALIDATION_FAILED');
      assert.deepEqual(
        answer.body.errors.map((e: { field: string }) => e.field).sort(),
        fields,
        path,
      );
    }
    const missing = await system.api('GET', '/v1/events/evt_00000000000000000000000000');
    assert.equal(missing.status, 404);
  });
});
