// Security headers on every answer, and rate limits per API key that never touch channel webhooks.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { demoMerchantId, ensureMerchant, generateSecret } from '../../src/services/merchants';
import { startTestSystem, testSecretBox, type Answer, type TestSystem } from '../support/system';

let system: TestSystem;
before(async () => {
  system = await startTestSystem({ env: { API_RATE_LIMIT_PER_MINUTE: '5' } });
});
after(async () => {
  await system?.stop();
});

describe('API hardening', () => {
  it('sends security headers, also on problem answers and pages', async () => {
    for (const path of ['/v1/pay-orders/po_00000000000000000000000000', '/docs', '/healthz']) {
      const response = await fetch(`${system.apiUrl}${path}`, {
        headers: { authorization: `Bearer ${generateSecret('probe')}` },
      });
      assert.equal(response.headers.get('x-content-type-options'), 'nosniff', path);
      assert.ok(response.headers.get('strict-transport-security'), path);
      assert.equal(response.headers.get('x-frame-options'), 'SAMEORIGIN', path);
      assert.match(
        response.headers.get('content-security-policy') ?? '',
        /default-src '(self|none)'/,
        path,
      );
    }
  });

  it('limits requests per API key with 429 problem+json, other keys and webhooks unaffected', async () => {
    const limitedKey = generateSecret('pk_limited');
    await ensureMerchant(
      system.database.db,
      { id: demoMerchantId, name: 'Demo merchant' },
      limitedKey,
      testSecretBox,
    );
    const statuses: number[] = [];
    let last: Answer | undefined;
    for (let i = 0; i < 7; i++) {
      last = await system.api('GET', '/v1/pay-orders?limit=1', undefined, {
        authorization: `Bearer ${limitedKey}`,
      });
      statuses.push(last.status);
    }
    assert.deepEqual(statuses, [200, 200, 200, 200, 200, 429, 429]);
    assert.match(last!.contentType, /^application\/problem\+json/);
    assert.equal(last!.body.code, 'RATE_LIMITED');

    // Another merchant key is counted on its own.
    assert.equal((await system.api('GET', '/v1/pay-orders?limit=1')).status, 200);
    // Channels are never throttled: a (forged, so refused) notification is still answered 401.
    for (let i = 0; i < 7; i++) {
      const webhook = await fetch(`${system.apiUrl}/webhooks/sandbox`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{}',
      });
      assert.equal(webhook.status, 401);
    }
  });
});
