// Every API request leaves one log line an operator can follow (method, route, status, duration,
// request ID, the merchant) and answers with its Request-Id, which a problem carries as
// `requestId`; a merchant's own short ID is kept, anything else replaced. The lines never hold a
// key or a cashier token, although cashier links carry their token in the URL.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { demoMerchantId } from '../../src/services/merchants';
import { startTestSystem, type TestSystem } from '../support/system';

let system: TestSystem;
const lines: Record<string, any>[] = [];
const written: string[] = [];

before(async () => {
  system = await startTestSystem({
    env: { LOG_LEVEL: 'info' },
    logDestination: {
      write(line: string) {
        written.push(line);
        lines.push(JSON.parse(line));
      },
    },
  });
});
after(() => system?.stop());

/** A raw request to the API, for its headers. */
function request(path: string, init: RequestInit = {}) {
  return fetch(`${system.apiUrl}${path}`, init);
}

const merchantKey = () => ({ authorization: `Bearer ${system.apiKey}` });

/** The request's log line, once the response has ended (onResponse runs after the answer left). */
async function lineOf(requestId: string) {
  for (let i = 0; i < 50; i++) {
    const found = lines.filter((line) => line.msg === 'request' && line.requestId === requestId);
    if (found.length > 0) {
      assert.equal(found.length, 1, 'one line per request');
      return found[0]!;
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`no request line for ${requestId}`);
}

describe('request IDs and request logs', () => {
  it('logs a merchant request with its route, status, duration, request ID and merchant, and keeps a sane incoming ID', async () => {
    const answer = await request('/v1/pay-orders', {
      method: 'POST',
      headers: {
        ...merchantKey(),
        'content-type': 'application/json',
        'x-request-id': 'shop-42.a1',
      },
      body: JSON.stringify({
        merchantOrderNo: `logs-${Date.now()}`,
        amount: 2_599,
        currency: 'CNY',
        subject: 'Notebook',
      }),
    });
    assert.equal(answer.status, 201);
    assert.equal(answer.headers.get('request-id'), 'shop-42.a1');
    const line = await lineOf('shop-42.a1');
    assert.equal(line.level, 30, 'info');
    assert.equal(line.component, 'api');
    assert.equal(line.method, 'POST');
    assert.equal(line.route, '/v1/pay-orders');
    assert.equal(line.status, 201);
    assert.equal(typeof line.durationMs, 'number');
    assert.equal(line.merchantId, demoMerchantId);
    assert.equal(line.url, undefined);
  });

  it('logs the cashier route pattern, never the link and its token', async () => {
    const created = await system.api('POST', '/v1/pay-orders', {
      merchantOrderNo: `logs-cashier-${Date.now()}`,
      amount: 1_200,
      currency: 'CNY',
      subject: 'Green tea',
    });
    assert.equal(created.status, 201);
    const cashierUrl = new URL(created.body.cashierUrl as string);
    const token = cashierUrl.searchParams.get('token');
    assert.ok(token && token.length > 10);
    const page = await fetch(cashierUrl);
    assert.equal(page.status, 200);
    const requestId = page.headers.get('request-id');
    assert.ok(requestId);
    const line = await lineOf(requestId);
    assert.equal(line.route, '/cashier/:id');
    assert.equal(line.status, 200);
    assert.equal(line.merchantId, undefined, 'a payer, not a merchant');
    const everything = written.join('');
    assert.ok(!everything.includes(token), 'no cashier token in any log line');
    assert.ok(!everything.includes(system.apiKey), 'no API key in any log line');
    const apiLines = JSON.stringify(lines.filter((l) => l.component === 'api'));
    assert.ok(!apiLines.includes('Green tea'), "no request body in the API's lines");
  });

  it('replaces an incoming ID that is not a short plain token with its own', async () => {
    for (const given of ['has space', 'x'.repeat(65), 'quote"d', '{json}']) {
      const answer = await request('/livez', { headers: { 'request-id': given } });
      const id = answer.headers.get('request-id');
      assert.ok(id && id !== given, `${given} was replaced`);
      assert.match(id, /^[0-9a-f-]{36}$/);
    }
    const plain = await request('/livez', { headers: { 'request-id': 'req_01JB2' } });
    assert.equal(plain.headers.get('request-id'), 'req_01JB2');
  });

  it('puts the request ID on problems, and logs refused requests too', async () => {
    const unknown = await request('/v1/pay-orders/po_00000000000000000000000000', {
      headers: merchantKey(),
    });
    assert.equal(unknown.status, 404);
    assert.match(unknown.headers.get('content-type') ?? '', /problem\+json/);
    const problem = (await unknown.json()) as any;
    assert.equal(problem.requestId, unknown.headers.get('request-id'));
    assert.equal((await lineOf(problem.requestId)).status, 404);

    // Refused before any route runs: no key.
    const noKey = await request('/v1/pay-orders', { headers: { 'x-request-id': 'no-key-1' } });
    assert.equal(noKey.status, 401);
    assert.equal(((await noKey.json()) as any).requestId, 'no-key-1');
    assert.equal(noKey.headers.get('request-id'), 'no-key-1');
    const refused = await lineOf('no-key-1');
    assert.equal(refused.status, 401);
    assert.equal(refused.merchantId, undefined);

    // No route at all: the line has no pattern, and the path the caller made up is not logged.
    const nowhere = await request('/nowhere/secret-looking-path', {
      headers: { 'request-id': 'nowhere-1' },
    });
    assert.equal(nowhere.status, 404);
    assert.equal(((await nowhere.json()) as any).requestId, 'nowhere-1');
    const unmatched = await lineOf('nowhere-1');
    assert.equal(unmatched.route, undefined);
    assert.ok(!JSON.stringify(unmatched).includes('secret-looking-path'));

    // Refused by the router itself, before any hook.
    const malformed = await request('/cashier/%E0%A4%A');
    assert.equal(malformed.status, 400);
    const malformedProblem = (await malformed.json()) as any;
    assert.ok(malformedProblem.requestId);
    assert.equal(malformed.headers.get('request-id'), malformedProblem.requestId);
  });
});
