// A merchant lists and looks up its own pay orders: filters, cursor pages that neither repeat nor
// skip while new orders arrive, named 400s for bad query parameters, nothing of another merchant,
// and the merchant notifications of one order in its view.
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { eq } from 'drizzle-orm';
import { payOrders } from '../../src/db/schema';
import { encodeListCursor } from '../../src/domain/schemas';
import { newMerchant as merchantOf, type MerchantCall } from '../support/merchants';
import { eventually, startTestSystem, type TestSystem } from '../support/system';

let system: TestSystem;
/** The merchant's notify endpoint: answers 500 to the first try of each event, then 200. */
const seen = new Set<string>();
const endpoint = http.createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    const eventId = String(req.headers['paycenter-event-id']);
    res.writeHead(seen.has(eventId) ? 200 : 500).end();
    seen.add(eventId);
  });
});
let notifyUrl = '';

before(async () => {
  await new Promise<void>((resolve) => endpoint.listen(0, '127.0.0.1', resolve));
  notifyUrl = `http://127.0.0.1:${(endpoint.address() as AddressInfo).port}/notify`;
  system = await startTestSystem({ env: { MERCHANT_NOTIFY_RETRY_SECONDS: '1,1,1' } });
});
after(async () => {
  await system?.stop();
  await new Promise((resolve) => endpoint.close(resolve));
});

type Call = MerchantCall;
const newMerchant = (name: string) => merchantOf(system, name);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function create(as: Call, overrides: Record<string, unknown> = {}) {
  const created = await as('POST', '/v1/pay-orders', {
    merchantOrderNo: `list-${Date.now()}-${Math.floor(Math.random() * 1e6)}`,
    amount: 1_000,
    currency: 'CNY',
    subject: 'Tea',
    expiresInSeconds: 600,
    ...overrides,
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  return created.body as {
    id: string;
    merchantOrderNo: string;
    createdAt: string;
    cashierUrl: string;
  };
}

async function ids(as: Call, query: string): Promise<string[]> {
  const answer = await as('GET', `/v1/pay-orders${query}`);
  assert.equal(answer.status, 200, JSON.stringify(answer.body));
  return answer.body.items.map((item: { id: string }) => item.id);
}

describe('listing pay orders', () => {
  it('filters by status, needsAttention, creation time and merchantOrderNo', async () => {
    const as = await newMerchant('filters');
    const o1 = await create(as);
    await sleep(15);
    const o2 = await create(as);
    await sleep(15);
    const o3 = await create(as);

    const paid = await as('POST', `/v1/pay-orders/${o2.id}/pay`, { channel: 'sandbox' });
    assert.equal(paid.status, 200, JSON.stringify(paid.body));
    const closed = await as('POST', `/v1/pay-orders/${o3.id}/close`);
    assert.equal(closed.status, 200, JSON.stringify(closed.body));
    await system.database.db
      .update(payOrders)
      .set({ needsAttention: true })
      .where(eq(payOrders.id, o1.id));

    const all = await as('GET', '/v1/pay-orders');
    assert.equal(all.status, 200);
    assert.deepEqual(
      all.body.items.map((i: { id: string }) => i.id),
      [o3.id, o2.id, o1.id],
    );
    assert.equal(all.body.nextCursor, null);
    const item = all.body.items[2];
    assert.equal(item.merchantOrderNo, o1.merchantOrderNo);
    assert.equal(item.amount, 1_000);
    assert.equal(item.createdAt, o1.createdAt);
    assert.equal(item.cashierUrl, o1.cashierUrl);

    await eventually(async () => (await ids(as, '?status=CLOSED')).join() === o3.id, {
      what: 'the closed order in the CLOSED list',
    });
    assert.deepEqual(await ids(as, '?status=PAYING'), [o2.id]);
    assert.deepEqual(await ids(as, '?status=CREATED'), [o1.id]);
    assert.deepEqual(await ids(as, '?status=SUCCEEDED'), []);
    assert.deepEqual(await ids(as, '?needsAttention=true'), [o1.id]);
    assert.deepEqual(await ids(as, '?needsAttention=false'), [o3.id, o2.id]);
    assert.deepEqual(await ids(as, '?needsAttention=false&status=PAYING'), [o2.id]);

    const from = encodeURIComponent(o2.createdAt);
    const to = encodeURIComponent(o3.createdAt);
    assert.deepEqual(await ids(as, `?createdFrom=${from}`), [o3.id, o2.id]);
    assert.deepEqual(await ids(as, `?createdTo=${from}`), [o1.id]);
    assert.deepEqual(await ids(as, `?createdFrom=${from}&createdTo=${to}`), [o2.id]);
    // Offsets other than Z are understood.
    const plus8 = new Date(Date.parse(o2.createdAt) + 8 * 3600_000)
      .toISOString()
      .replace('Z', '+08:00');
    assert.deepEqual(await ids(as, `?createdFrom=${encodeURIComponent(plus8)}`), [o3.id, o2.id]);

    assert.deepEqual(await ids(as, `?merchantOrderNo=${o2.merchantOrderNo}`), [o2.id]);
    assert.deepEqual(await ids(as, '?merchantOrderNo=no-such-order'), []);
    assert.deepEqual(await ids(as, '?limit=1'), [o3.id]);
  });

  it('pages newest first with no duplicates or gaps while orders are created between pages', async () => {
    const as = await newMerchant('pages');
    // Created side by side, so several share a millisecond: the cursor must still be exact.
    const first = await Promise.all(Array.from({ length: 7 }, () => create(as)));
    const firstIds = new Set(first.map((o) => o.id));

    const seenIds: string[] = [];
    const createdMeanwhile: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const query: string = `?limit=3${cursor ? `&cursor=${cursor}` : ''}`;
      const page = await as('GET', `/v1/pay-orders${query}`);
      assert.equal(page.status, 200, JSON.stringify(page.body));
      assert.ok(page.body.items.length <= 3);
      seenIds.push(...page.body.items.map((i: { id: string }) => i.id));
      cursor = page.body.nextCursor;
      if (cursor) assert.match(cursor, /^[A-Za-z0-9_-]+$/);
      pages += 1;
      // New orders arrive between pages; they are newer than every cursor.
      createdMeanwhile.push(...(await Promise.all([create(as), create(as)])).map((o) => o.id));
    } while (cursor && pages < 10);

    assert.equal(pages, 3);
    assert.equal(new Set(seenIds).size, seenIds.length, 'no duplicates');
    assert.deepEqual(new Set(seenIds), firstIds, 'exactly the orders that existed, no gaps');

    // Newest first: the same order as one big page, which has everything.
    const everything = await as('GET', '/v1/pay-orders?limit=100');
    const allIds: string[] = everything.body.items.map((i: { id: string }) => i.id);
    assert.equal(allIds.length, 7 + createdMeanwhile.length);
    assert.deepEqual(
      allIds.filter((id) => firstIds.has(id)),
      seenIds,
    );
    const times = everything.body.items.map((i: { createdAt: string }) => Date.parse(i.createdAt));
    assert.deepEqual(
      times,
      [...times].sort((a, b) => b - a),
    );
    assert.equal(everything.body.nextCursor, null);

    // A page of exactly the remaining items ends the listing.
    const exact = await as('GET', `/v1/pay-orders?limit=${allIds.length}`);
    assert.equal(exact.body.items.length, allIds.length);
    assert.equal(exact.body.nextCursor, null);
  });

  it('answers 400 naming the field for every bad query parameter', async () => {
    const cases: [string, string[]][] = [
      ['status=DONE', ['query.status']],
      ['status=paying', ['query.status']],
      ['needsAttention=yes', ['query.needsAttention']],
      ['createdFrom=yesterday', ['query.createdFrom']],
      ['createdTo=2026-13-01T00:00:00Z', ['query.createdTo']],
      ['createdFrom=2026-02-01T00:00:00Z&createdTo=2026-01-01T00:00:00Z', ['query.createdTo']],
      ['merchantOrderNo=has%20space', ['query.merchantOrderNo']],
      ['limit=0', ['query.limit']],
      ['limit=101', ['query.limit']],
      ['limit=2.5', ['query.limit']],
      ['limit=ten', ['query.limit']],
      ['cursor=not-a-cursor!', ['query.cursor']],
      ['cursor=bm90IGpzb24', ['query.cursor']],
      [`cursor=${Buffer.from('["x","y"]').toString('base64url')}`, ['query.cursor']],
      ['status=DONE&limit=0', ['query.limit', 'query.status']],
      ['status=PAYING&status=CLOSED', ['query.status']],
    ];
    for (const [query, fields] of cases) {
      const answer = await system.api('GET', `/v1/pay-orders?${query}`);
      assert.equal(answer.status, 400, `${query}: ${JSON.stringify(answer.body)}`);
      assert.equal(answer.contentType, 'application/problem+json; charset=utf-8');
      assert.equal(answer.body.code, 'VALIDATION_FAILED');
      assert.deepEqual(
        answer.body.errors.map((e: { field: string }) => e.field).sort(),
        fields,
        query,
      );
    }
    const unknown = await system.api('GET', '/v1/pay-orders?stauts=PAYING');
    assert.equal(unknown.status, 400);
    assert.match(unknown.body.errors[0].message, /stauts/);

    // A well-formed cursor is accepted even if no order is older than it.
    const oldest = encodeListCursor({
      createdAt: '2000-01-01T00:00:00.000000Z',
      id: 'po_00000000000000000000000000',
    });
    const empty = await system.api('GET', `/v1/pay-orders?cursor=${oldest}`);
    assert.equal(empty.status, 200);
    assert.deepEqual(empty.body, { items: [], nextCursor: null });

    const noKey = await system.api('GET', '/v1/pay-orders', undefined, { authorization: '' });
    assert.equal(noKey.status, 401);
  });

  it('shows a merchant none of another merchant’s orders', async () => {
    const a = await newMerchant('alpha');
    const b = await newMerchant('beta');
    const mine = await create(a);
    const theirs = await create(b, { merchantOrderNo: mine.merchantOrderNo });
    assert.notEqual(theirs.id, mine.id);

    assert.deepEqual(await ids(a, ''), [mine.id]);
    assert.deepEqual(await ids(b, ''), [theirs.id]);
    assert.deepEqual(await ids(b, `?merchantOrderNo=${mine.merchantOrderNo}`), [theirs.id]);
    const cursorIntoA = encodeListCursor({
      createdAt: '2999-01-01T00:00:00.000000Z',
      id: mine.id,
    });
    assert.deepEqual(await ids(b, `?cursor=${cursorIntoA}`), [theirs.id]);
    assert.equal((await b('GET', `/v1/pay-orders/${mine.id}`)).status, 404);
    // The demo merchant sees neither.
    const demo = await system.api('GET', `/v1/pay-orders?merchantOrderNo=${mine.merchantOrderNo}`);
    assert.deepEqual(demo.body.items, []);
  });

  it('shows the merchant notifications of an order, with every delivery try', async () => {
    const as = await newMerchant('notified');
    const order = await create(as, { notifyUrl });
    const quiet = await create(as);

    const closed = await as('POST', `/v1/pay-orders/${order.id}/close`);
    assert.equal(closed.status, 200, JSON.stringify(closed.body));

    const view = await eventually(
      async () => {
        const body = (await as('GET', `/v1/pay-orders/${order.id}`)).body;
        return body.notifications?.[0]?.status === 'DELIVERED' && body;
      },
      { what: 'a delivered notification in the view' },
    );
    assert.equal(view.status, 'CLOSED');
    assert.equal(view.notifications.length, 1);
    const [notification] = view.notifications;
    assert.match(notification.eventId, /^evt_/);
    assert.equal(notification.type, 'pay_order.closed');
    assert.deepEqual(
      notification.attempts.map((a: { attemptNo: number; responseStatus: number }) => [
        a.attemptNo,
        a.responseStatus,
      ]),
      [
        [1, 500],
        [2, 200],
      ],
    );
    for (const attempt of notification.attempts) {
      assert.ok(!Number.isNaN(Date.parse(attempt.attemptedAt)));
      assert.ok('error' in attempt);
    }

    const none = (await as('GET', `/v1/pay-orders/${quiet.id}`)).body;
    assert.deepEqual(none.notifications, []);
    assert.deepEqual(none.attempts, []);
    assert.deepEqual(none.refunds, []);
  });
});
