// Rate limits an attacker cannot step around: callers are identified before they are counted, a
// valid key has its own budget, everyone else shares their address's, and X-Forwarded-For counts
// only from a trusted proxy. Channels' webhooks are never limited, only bounded in size. And the
// Idempotency-Key table does not grow forever: the safety-net scan sweeps keys past retention.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { count, sql } from 'drizzle-orm';
import { idempotencyKeys } from '../../src/db/schema';
import { demoMerchantId, ensureMerchant, generateSecret } from '../../src/services/merchants';
import { startTestSystem, testSecretBox, type TestSystem } from '../support/system';

const perMinute = 100;
let system: TestSystem;
before(async () => {
  system = await startTestSystem({
    env: { API_RATE_LIMIT_PER_MINUTE: String(perMinute), API_BODY_LIMIT_BYTES: '4096' },
  });
});
after(async () => {
  await system?.stop();
});

interface Reply {
  status: number;
  retryAfter: string | null;
  contentType: string;
  code?: string;
}

async function request(
  path: string,
  headers: Record<string, string> = {},
  init: RequestInit = {},
): Promise<Reply> {
  const response = await fetch(`${system.apiUrl}${path}`, { ...init, headers });
  const text = await response.text();
  const contentType = response.headers.get('content-type') ?? '';
  return {
    status: response.status,
    retryAfter: response.headers.get('retry-after'),
    contentType,
    code: contentType.includes('json') && text ? JSON.parse(text).code : undefined,
  };
}

const randomBearer = () => ({ authorization: `Bearer ${randomBytes(24).toString('hex')}` });

/** Sends `total` requests, `inFlight` at a time, and answers their replies in order of sending. */
async function flood(total: number, inFlight: number, send: () => Promise<Reply>) {
  const replies: Reply[] = [];
  for (let sent = 0; sent < total; sent += inFlight) {
    const batch = Math.min(inFlight, total - sent);
    replies.push(...(await Promise.all(Array.from({ length: batch }, send))));
  }
  return replies;
}

const countOf = (replies: Reply[], status: number) =>
  replies.filter((r) => r.status === status).length;

describe('rate limits', () => {
  it('issue 12: 1,300 requests with random Authorization headers from one address are limited', async () => {
    const replies = await flood(1300, 25, () =>
      request('/v1/pay-orders?limit=1', {
        ...randomBearer(),
        // A spoofed client address is ignored: no proxy is trusted here.
        'x-forwarded-for': `198.51.100.${Math.floor(Math.random() * 250) + 1}`,
      }),
    );
    assert.equal(countOf(replies, 401), perMinute, 'the address budget answers 401 first');
    assert.equal(countOf(replies, 429), 1300 - perMinute, 'the rest are limited');
    const limited = replies.find((r) => r.status === 429)!;
    assert.match(limited.contentType, /^application\/problem\+json/);
    assert.equal(limited.code, 'RATE_LIMITED');
    assert.ok(Number(limited.retryAfter) > 0, `Retry-After: ${limited.retryAfter}`);

    // Still exhausted: no header, another wrong key, a cashier page, the docs.
    assert.equal((await request('/v1/pay-orders?limit=1')).status, 429);
    assert.equal((await request('/v1/pay-orders?limit=1', randomBearer())).status, 429);
    assert.equal((await request('/cashier/po_00000000000000000000000000')).status, 429);
  });

  it('issue 12: a valid merchant key is limited on its own budget, not by its address flood', async () => {
    // The address is exhausted by the flood above; the demo merchant's key still works.
    assert.equal((await system.api('GET', '/v1/pay-orders?limit=1')).status, 200);

    const ownKey = generateSecret('pk_test');
    await ensureMerchant(
      system.database.db,
      { id: demoMerchantId, name: 'Demo merchant' },
      ownKey,
      testSecretBox,
    );
    const replies = await flood(perMinute + 5, 5, () =>
      request('/v1/pay-orders?limit=1', { authorization: `Bearer ${ownKey}` }),
    );
    assert.equal(countOf(replies, 200), perMinute);
    assert.equal(countOf(replies, 429), 5);
    // The other key of the merchant is counted apart.
    assert.equal((await system.api('GET', '/v1/pay-orders?limit=1')).status, 200);
  });

  it('issue 12: operators are limited per ops key; a wrong ops key counts on the address', async () => {
    const ops = (key: string) => request('/ops/exceptions', { authorization: `Bearer ${key}` });
    assert.equal((await ops(system.opsKey)).status, 200);
    assert.equal((await ops(generateSecret('ops_wrong'))).status, 429);
  });

  it('issue 12: channel webhooks are never limited, but their body is bounded', async () => {
    const notify = (body: string) =>
      request(
        '/webhooks/sandbox',
        { 'content-type': 'application/json' },
        { method: 'POST', body },
      );
    for (let i = 0; i < 5; i++) {
      // Forged, so refused with 401: but answered, not limited, from the exhausted address.
      assert.equal((await notify('{}')).status, 401);
    }
    const tooLarge = await notify(JSON.stringify({ padding: 'x'.repeat(5000) }));
    assert.equal(tooLarge.status, 413);
    assert.equal(tooLarge.code, 'BODY_TOO_LARGE');
  });
});

describe('rate limits behind a trusted proxy', () => {
  let proxied: TestSystem;
  before(async () => {
    proxied = await startTestSystem({
      env: { API_RATE_LIMIT_PER_MINUTE: '10', TRUST_PROXY: '127.0.0.1' },
    });
  });
  after(async () => {
    await proxied?.stop();
  });

  it('issue 12: behind TRUST_PROXY the client address comes from X-Forwarded-For', async () => {
    const from = (client: string) =>
      fetch(`${proxied.apiUrl}/v1/pay-orders?limit=1`, {
        headers: { ...randomBearer(), 'x-forwarded-for': client },
      }).then((r) => r.status);
    const flooder: number[] = [];
    for (let i = 0; i < 15; i++) flooder.push(await from('203.0.113.9'));
    assert.deepEqual(
      flooder,
      [...Array(10).fill(401), ...Array(5).fill(429)],
      'one client behind the proxy is limited',
    );
    assert.equal(await from('203.0.113.10'), 401, 'another client behind the proxy is not');
  });
});

describe('idempotency keys expire', () => {
  let swept: TestSystem;
  before(async () => {
    // Its own database: the scan reads (and acts on) the whole book.
    swept = await startTestSystem({
      ownDatabase: true,
      env: { IDEMPOTENCY_KEY_RETENTION_SECONDS: '3600' },
    });
  });
  after(async () => {
    await swept?.stop();
  });

  it('issue 12: the safety-net scan deletes every key past the configured retention, in batches', async () => {
    const db = swept.database.db;
    const keyRows = (prefix: string, n: number, ageSeconds: number) =>
      db.execute(sql`
        insert into ${idempotencyKeys} (merchant_id, key, method, path, request_hash, status, created_at)
        select 'mch_demo', ${prefix} || n, 'POST', '/v1/pay-orders', 'hash', 'COMPLETED',
               now() - make_interval(secs => ${ageSeconds})
        from generate_series(1, ${n}) as n`);
    // More expired keys than one delete takes, two hours old: past a retention of one hour.
    await keyRows('expired-', 12_000, 2 * 3600);
    await keyRows('live-', 300, 60);

    const scan = await fetch(`${swept.apiUrl}/ops/safety-net/scans`, {
      method: 'POST',
      headers: { authorization: `Bearer ${swept.opsKey}`, 'content-type': 'application/json' },
      body: '{}',
    });
    assert.equal(scan.status, 200);
    const report = (await scan.json()) as { idempotencyKeysSwept?: number };
    assert.equal(report.idempotencyKeysSwept, 12_000);
    const [left] = await db.select({ keys: count() }).from(idempotencyKeys);
    assert.equal(left?.keys, 300, 'the live keys stay');
  });
});
