// Property-based fuzzing of the merchant API's writes (fast-check): whatever the body, content
// type, size or path id, the answer is a 2xx or a 4xx problem+json with a string `code`, never a
// 5xx; and a rejected request leaves the stored pay orders, channel attempts and refunds unchanged.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { eq, inArray } from 'drizzle-orm';
import fc from 'fast-check';
import { channelAttempts, payOrders, refunds } from '../../src/db/schema';
import { demoMerchantId } from '../../src/services/merchants';
import { eventually, startTestSystem, type TestSystem } from '../support/system';

let system: TestSystem;
const run = `fz-${Date.now()}`;
/** Pay orders this file made: their rows are compared after every rejected request. */
const known = new Set<string>();
/** Pay orders an accepted request touched and whose workflow may still write: not compared. */
const dirty = new Set<string>();

let createdOrder: Record<string, unknown>; // a CREATED order; its body is the create base
let payTarget: string; // a CREATED order the pay fuzz aims at
let paidOrder: string; // a SUCCEEDED order the refund fuzz aims at

before(async () => {
  // Other test files share the demo merchant and the run's database; this file's bursts must not
  // trip the per-key rate limit either.
  system = await startTestSystem({ env: { API_RATE_LIMIT_PER_MINUTE: '1000000' } });
  const create = async (suffix: string) => {
    const body = {
      merchantOrderNo: `${run}-${suffix}`,
      amount: 10_000,
      currency: 'CNY',
      subject: 'Fuzzed goods',
      expiresInSeconds: 3_600,
    };
    const answer = await system.api('POST', '/v1/pay-orders', body);
    assert.equal(answer.status, 201, JSON.stringify(answer.body));
    known.add(answer.body.id);
    return { body, id: answer.body.id as string };
  };
  createdOrder = (await create('created')).body;
  payTarget = (await create('pay')).id;
  paidOrder = (await create('paid')).id;
  const pay = await system.api('POST', `/v1/pay-orders/${paidOrder}/pay`, { channel: 'sandbox' });
  assert.equal(pay.status, 200, JSON.stringify(pay.body));
  assert.equal((await fetch(pay.body.attempt.payUrl, { method: 'POST' })).status, 200);
  await eventually(
    async () =>
      (await system.api('GET', `/v1/pay-orders/${paidOrder}`)).body.status === 'SUCCEEDED',
    { what: 'the fixture order paid' },
  );
  await settle([paidOrder]);
});
after(async () => {
  await system?.stop();
});

// ---- What is stored ----

type Row = Record<string, unknown> & { id: string };
interface StoredRow {
  table: 'pay_orders' | 'channel_attempts' | 'refunds';
  payOrderId: string;
  merchantOrderNo?: string;
  merchantRefundNo?: string | null;
  json: string;
}

async function snapshot(): Promise<Map<string, StoredRow>> {
  const db = system.database.db;
  const orders = await db.select().from(payOrders).where(eq(payOrders.merchantId, demoMerchantId));
  const orderIds = orders.map((o) => o.id);
  const attempts = orderIds.length
    ? await db.select().from(channelAttempts).where(inArray(channelAttempts.payOrderId, orderIds))
    : [];
  const refundRows = await db.select().from(refunds).where(eq(refunds.merchantId, demoMerchantId));
  const rows = new Map<string, StoredRow>();
  const json = (row: Row) => JSON.stringify(row);
  for (const o of orders) {
    rows.set(`pay_orders:${o.id}`, {
      table: 'pay_orders',
      payOrderId: o.id,
      merchantOrderNo: o.merchantOrderNo,
      json: json(o),
    });
  }
  for (const a of attempts) {
    rows.set(`channel_attempts:${a.id}`, {
      table: 'channel_attempts',
      payOrderId: a.payOrderId,
      json: json(a),
    });
  }
  for (const r of refundRows) {
    rows.set(`refunds:${r.id}`, {
      table: 'refunds',
      payOrderId: r.payOrderId,
      merchantRefundNo: r.merchantRefundNo,
      json: json(r),
    });
  }
  return rows;
}

/**
 * The rows a request could have touched, as far as this file can tell them apart from what other
 * test files (sharing the demo merchant) write at the same time: this file's orders, the ids the
 * request names, and rows carrying its merchantOrderNo or merchantRefundNo.
 */
function relevance(path: string, body: unknown) {
  const ids = new Set(known);
  for (const match of path.matchAll(/po_[0-9A-Z]{26}/g)) ids.add(match[0]);
  const fields = body && typeof body === 'object' ? (body as Record<string, unknown>) : {};
  if (typeof fields.payOrderId === 'string') ids.add(fields.payOrderId);
  const orderNo = typeof fields.merchantOrderNo === 'string' ? fields.merchantOrderNo : undefined;
  const refundNo =
    typeof fields.merchantRefundNo === 'string' ? fields.merchantRefundNo : undefined;
  return (row: StoredRow, rowsByKey: Map<string, StoredRow>) => {
    if (dirty.has(row.payOrderId)) return false;
    if (ids.has(row.payOrderId)) return true;
    if (orderNo !== undefined) {
      const order = rowsByKey.get(`pay_orders:${row.payOrderId}`);
      if (order?.merchantOrderNo === orderNo) return true;
    }
    return refundNo !== undefined && row.merchantRefundNo === refundNo;
  };
}

function changedRows(
  before: Map<string, StoredRow>,
  afterwards: Map<string, StoredRow>,
  relevant: ReturnType<typeof relevance>,
): string[] {
  const changes: string[] = [];
  for (const [key, row] of afterwards) {
    const old = before.get(key);
    if (old?.json === row.json) continue;
    if (relevant(row, afterwards) || (old && relevant(old, before))) {
      changes.push(
        old ? `changed ${key}: ${old.json} -> ${row.json}` : `added ${key}: ${row.json}`,
      );
    }
  }
  for (const [key, row] of before) {
    if (!afterwards.has(key) && relevant(row, before)) changes.push(`removed ${key}`);
  }
  return changes;
}

/**
 * After an accepted request: waits until the orders it touched stop changing (no refund
 * PROCESSING, no attempt PENDING, no expiry within the hour), then compares them again; orders
 * that may still change stay out of the comparison.
 */
async function settle(ids: string[]): Promise<void> {
  for (const id of ids) dirty.add(id);
  const rowsOf = async () =>
    [...(await snapshot()).values()].filter((r) => ids.includes(r.payOrderId));
  const quiet = (rows: StoredRow[]) =>
    rows.every((r) => {
      const parsed = JSON.parse(r.json);
      if (r.table === 'refunds') return parsed.status !== 'PROCESSING';
      if (r.table === 'channel_attempts') return parsed.status !== 'PENDING';
      return (
        !['CREATED', 'PAYING'].includes(parsed.status) ||
        Date.parse(parsed.expiresAt) > Date.now() + 3_600_000 - 60_000
      );
    });
  const deadline = Date.now() + 5_000;
  let last = JSON.stringify(await rowsOf());
  while (Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 300));
    const rows = await rowsOf();
    const now = JSON.stringify(rows);
    if (now === last) {
      // Steady; if something may still move on its own (a timer, a poll), it stays set aside.
      if (quiet(rows)) for (const id of ids) dirty.delete(id);
      return;
    }
    last = now;
  }
}

// ---- Sending ----

interface Sent {
  method: string;
  path: string;
  contentType?: string;
  /** A JSON value to send as JSON, or raw text as it is. */
  body?: { json: unknown } | { text: string };
}

function describeSent(sent: Sent): string {
  const body =
    sent.body === undefined
      ? '(no body)'
      : 'json' in sent.body
        ? JSON.stringify(sent.body.json)
        : JSON.stringify(sent.body.text);
  const shown = body.length > 400 ? `${body.slice(0, 400)}... (${body.length} chars)` : body;
  return `${sent.method} ${sent.path} [${sent.contentType ?? 'no content-type'}] ${shown}`;
}

/** Sends the request and checks the property; answers the status for statistics. */
async function check(sent: Sent): Promise<number> {
  const jsonBody = sent.body && 'json' in sent.body ? sent.body.json : undefined;
  const relevant = relevance(sent.path, jsonBody);
  const before = await snapshot();
  const headers: Record<string, string> = { authorization: `Bearer ${system.apiKey}` };
  if (sent.contentType !== undefined) headers['content-type'] = sent.contentType;
  const payload =
    sent.body === undefined
      ? undefined
      : 'json' in sent.body
        ? JSON.stringify(sent.body.json)
        : sent.body.text;
  const response = await fetch(`${system.apiUrl}${sent.path}`, {
    method: sent.method,
    headers,
    body: payload,
  });
  const text = await response.text();
  const contentType = response.headers.get('content-type') ?? '';
  const what = `${describeSent(sent)}\n  -> ${response.status} ${contentType} ${text.slice(0, 600)}`;

  assert.ok(response.status < 500, `5xx answer: ${what}`);
  assert.ok(response.status >= 200 && response.status < 500, `unexpected status: ${what}`);
  if (response.status >= 400) {
    assert.match(contentType, /^application\/problem\+json/, `not problem+json: ${what}`);
    const problem = JSON.parse(text);
    assert.equal(typeof problem.code, 'string', `problem without a code: ${what}`);
    const changes = changedRows(before, await snapshot(), relevant);
    assert.deepEqual(changes, [], `a rejected request changed stored rows: ${what}`);
  } else if (response.status < 300) {
    // Accepted: the orders it names may now change on their own (workflows); wait or set aside.
    const touched = new Set<string>();
    for (const match of sent.path.matchAll(/po_[0-9A-Z]{26}/g)) touched.add(match[0]);
    const answer = contentType.includes('json') && text ? JSON.parse(text) : {};
    if (typeof answer.id === 'string' && answer.id.startsWith('po_')) touched.add(answer.id);
    if (typeof answer.payOrderId === 'string') touched.add(answer.payOrderId);
    for (const id of touched) known.add(id);
    await settle([...touched]);
  }
  return response.status;
}

// ---- Generating ----

const alphabet = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const idLike = (prefix: string) =>
  fc
    .array(fc.constantFrom(...alphabet), { minLength: 26, maxLength: 26 })
    .map((chars) => `${prefix}_${chars.join('')}`);

const json = fc.jsonValue({ maxDepth: 3 });

/** Values that break a field in a targeted way. */
const nasty = fc.oneof(
  fc.constantFrom<unknown>(
    -1,
    0,
    -0,
    0.5,
    12.34,
    1e21,
    2 ** 53,
    2 ** 53 + 2,
    Number.MAX_VALUE,
    -Number.MAX_VALUE,
    '',
    ' ',
    '1234',
    'CNY ',
    'cny',
    'XXX',
    'BTC',
    'sandbox\u0000',
    '../../etc/passwd',
    "'; drop table pay_orders; --",
    '\u202e\ud83d\ude00',
    '\ud800',
    null,
    true,
    false,
    [],
    {},
    { $gt: '' },
    '__proto__',
    'po_00000000000000000000000000',
    'javascript:alert(1)',
    'http://127.0.0.1:9/notify',
    'ftp://example.com/',
  ),
  fc.integer({ min: -(2 ** 53), max: 2 ** 53 }),
  fc.double(),
  fc.string({ maxLength: 40 }),
  fc.string({ minLength: 257, maxLength: 3_000 }),
  fc.string({ unit: 'binary', maxLength: 80 }),
  json,
);

type Mutation =
  | { kind: 'set'; field: string; value: unknown }
  | { kind: 'delete'; field: string }
  | { kind: 'extra'; field: string; value: unknown };

function mutation(fields: string[]): fc.Arbitrary<Mutation> {
  return fc.oneof(
    fc.record({
      kind: fc.constant('set' as const),
      field: fc.constantFrom(...fields),
      value: nasty,
    }),
    fc.record({ kind: fc.constant('delete' as const), field: fc.constantFrom(...fields) }),
    fc.record({
      kind: fc.constant('extra' as const),
      field: fc.oneof(
        fc.string({ maxLength: 20 }),
        fc.constantFrom('__proto__', 'constructor', 'id', 'status', 'merchantId'),
      ),
      value: json,
    }),
  );
}

/** The valid base body with 0-3 mutations applied; sometimes something fully random instead. */
function mutatedBody(base: () => Record<string, unknown>, fields: string[]) {
  return fc.oneof(
    {
      weight: 6,
      arbitrary: fc.array(mutation(fields), { minLength: 0, maxLength: 3 }).map((mutations) => {
        // JSON.parse keeps a "__proto__" key as an own property, as a client's JSON would.
        const body = JSON.parse(JSON.stringify(base())) as Record<string, unknown>;
        for (const m of mutations) {
          if (m.kind === 'delete') delete body[m.field];
          else
            Object.defineProperty(body, m.field, {
              value: m.value,
              enumerable: true,
              configurable: true,
              writable: true,
            });
        }
        return body;
      }),
    },
    { weight: 2, arbitrary: json.map((v) => v as unknown) },
    {
      weight: 1,
      arbitrary: fc.dictionary(fc.constantFrom(...fields), nasty).map((v) => v as unknown),
    },
  );
}

/** Bodies that are not (acceptable) JSON: text, wrong content types, too large. */
const awkwardBody: fc.Arbitrary<Pick<Sent, 'contentType' | 'body'>> = fc.oneof(
  fc.record({
    contentType: fc.constant('application/json'),
    body: fc.string({ maxLength: 200 }).map((text) => ({ text })),
  }),
  fc.record({
    contentType: fc.constantFrom(
      'text/plain',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x',
      'application/xml',
      'application/octet-stream',
      'application/json; charset=utf-16',
      'application/json; charset=latin1',
      'application/JSON',
      'application/problem+json',
      'application/json-patch+json',
      'application/vnd.api+json',
      ';;;',
      'application/json; boundary="',
    ),
    body: fc.oneof(
      fc.string({ maxLength: 200 }).map((text) => ({ text })),
      json.map((v) => ({ json: v })),
    ),
  }),
  fc.record({
    contentType: fc.constant('application/json'),
    body: fc.constant(undefined),
  }),
  // Around the 64 KiB limit: JSON with one long string, and plain long text.
  fc
    .record({
      size: fc.integer({ min: 60_000, max: 72_000 }),
      asJson: fc.boolean(),
      contentType: fc.constantFrom('application/json', 'text/plain'),
    })
    .map(({ size, asJson, contentType }) => ({
      contentType,
      body: asJson
        ? { text: JSON.stringify({ merchantOrderNo: 'big', subject: 'x'.repeat(size) }) }
        : { text: 'y'.repeat(size) },
    })),
);

/**
 * Fastify's router refuses path parameters longer than this before our error handler sees them
 * (FST_ERR_MAX_PARAM_LENGTH); those are fuzzed separately below.
 */
const maxParamLength = 100;

/** A path id: this file's orders, well-formed unknown ones, other prefixes, random text. */
function pathId(): fc.Arbitrary<string> {
  return fc
    .oneof(
      fc.constantFrom(payTarget, paidOrder),
      idLike('po'),
      idLike('rf'),
      fc.constantFrom(
        'po_',
        'po_0',
        `${payTarget}x`,
        payTarget.toLowerCase(),
        '%00',
        '%C3%A9',
        '..',
        '%2e%2e',
      ),
      fc.string({ maxLength: 60 }).map(encodeURIComponent),
      fc.string({ unit: 'binary', maxLength: 30 }).map(encodeURIComponent),
    )
    .filter((id) => id.length <= maxParamLength);
}

/** Path ids the router refuses itself: too long, or malformed percent-encoding. */
const routerRefusedPathId = fc.oneof(
  fc.string({ minLength: maxParamLength + 1, maxLength: 3_000 }).map(encodeURIComponent),
  fc.constantFrom('%ZZ', '%E0%A4%A', '%', 'po_%G0'),
);

const orderFields = [
  'merchantOrderNo',
  'amount',
  'currency',
  'subject',
  'expiresInSeconds',
  'notifyUrl',
  'returnUrl',
];
const payFields = ['channel', 'method', 'payerId'];
const refundFields = ['payOrderId', 'merchantRefundNo', 'amount', 'reason'];

const runs = { numRuns: 80, endOnFailure: true } as const;

async function fuzz(arbitrary: fc.Arbitrary<Sent>, numRuns: number = runs.numRuns) {
  const statuses = new Map<number, number>();
  await fc.assert(
    fc.asyncProperty(arbitrary, async (sent) => {
      const status = await check(sent);
      statuses.set(status, (statuses.get(status) ?? 0) + 1);
    }),
    { ...runs, numRuns },
  );
  const counts = [...statuses].sort(([a], [b]) => a - b).map(([status, n]) => `${status}: ${n}`);
  console.log(`  statuses ${counts.join(', ')}; orders set aside: ${dirty.size}`);
  return statuses;
}

describe('fuzzing the merchant API', { timeout: 120_000 }, () => {
  it('POST /v1/pay-orders: mutated and random JSON bodies', async () => {
    await fuzz(
      mutatedBody(() => createdOrder, orderFields).map((json) => ({
        method: 'POST',
        path: '/v1/pay-orders',
        contentType: 'application/json',
        body: { json },
      })),
    );
  });

  it('POST /v1/pay-orders/{id}/pay: mutated and random JSON bodies, random path ids', async () => {
    await fuzz(
      fc
        .record({
          id: fc.oneof({ weight: 3, arbitrary: fc.constantFrom(payTarget, paidOrder) }, pathId()),
          json: mutatedBody(() => ({ channel: 'sandbox', method: 'page' }), payFields),
        })
        .map(({ id, json }) => ({
          method: 'POST',
          path: `/v1/pay-orders/${id}/pay`,
          contentType: 'application/json',
          body: { json },
        })),
    );
  });

  it('POST /v1/refunds: mutated and random JSON bodies', async () => {
    await fuzz(
      mutatedBody(
        () => ({
          payOrderId: paidOrder,
          merchantRefundNo: `${run}-refund`,
          amount: 100,
          reason: 'fuzz',
        }),
        refundFields,
      ).map((json) => ({
        method: 'POST',
        path: '/v1/refunds',
        contentType: 'application/json',
        body: { json },
      })),
    );
  });

  it('non-JSON text, wrong content types and oversized bodies on every write', async () => {
    await fuzz(
      fc
        .record({
          path: fc.oneof(
            fc.constant('/v1/pay-orders'),
            fc.constant('/v1/refunds'),
            pathId().map((id) => `/v1/pay-orders/${id}/pay`),
          ),
          awkward: awkwardBody,
        })
        .map(({ path, awkward }) => ({ method: 'POST', path, ...awkward })),
      100,
    );
  });

  it('random path ids on the reads and the pay, refund lookups', async () => {
    await fuzz(
      fc
        .record({
          id: pathId(),
          route: fc.constantFrom(
            (id: string) => ({ method: 'GET', path: `/v1/pay-orders/${id}` }),
            (id: string) => ({ method: 'GET', path: `/v1/refunds/${id}` }),
            (id: string) => ({
              method: 'POST',
              path: `/v1/pay-orders/${id}/pay`,
              contentType: 'application/json',
              body: { json: { channel: 'sandbox' } },
            }),
          ),
        })
        .map(({ id, route }) => route(id) as Sent),
      60,
    );
  });

  // The router refuses these URLs itself (a path parameter over 100 characters, malformed
  // percent-encoding); app.ts's frameworkErrors still answers them as problem+json.
  it('path ids the router refuses itself still answer problem+json', async () => {
    await fuzz(
      fc
        .record({
          id: routerRefusedPathId,
          method: fc.constantFrom('GET', 'POST'),
        })
        .map(({ id, method }) => ({
          method,
          path: `/v1/pay-orders/${id}${method === 'POST' ? '/pay' : ''}`,
          contentType: method === 'POST' ? 'application/json' : undefined,
          body: method === 'POST' ? { json: { channel: 'sandbox' } } : undefined,
        })),
      20,
    );
  });
});
