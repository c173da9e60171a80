// The sandbox channel's signatures and the adapter's pure parts (no network is touched).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createSandboxAdapter, toPayStatus } from '../../src/channels/sandbox/adapter';
import {
  sandboxHeaders,
  sign,
  signatureToleranceMs,
  signedHeaders,
  verifySignature,
} from '../../src/channels/sandbox/protocol';
import { DomainError } from '../../src/domain/errors';
import type { TradeNotification } from '../../simulator/trades';

const SECRET = 'sandbox-test-secret-0123456789';
const APP_ID = 'paycenter-test';
const NOW = 1_700_000_000_000;
const BODY = JSON.stringify({ out_trade_no: 'otn_1', total_amount: 12_345 });

describe('sign / verifySignature', () => {
  it('a body signed with the secret verifies', () => {
    const headers = signedHeaders(APP_ID, SECRET, BODY, NOW);
    assert.equal(verifySignature(SECRET, headers, BODY, NOW), true);
  });

  it('signedHeaders carries the app id, the timestamp and sign(secret, timestamp, body)', () => {
    const headers = signedHeaders(APP_ID, SECRET, BODY, NOW);
    assert.equal(headers[sandboxHeaders.appId], APP_ID);
    assert.equal(headers[sandboxHeaders.timestamp], String(NOW));
    assert.equal(headers[sandboxHeaders.signature], sign(SECRET, String(NOW), BODY));
  });

  it('accepts header values given as arrays (as node may deliver them)', () => {
    const headers = signedHeaders(APP_ID, SECRET, BODY, NOW);
    const asArrays = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, [v]]));
    assert.equal(verifySignature(SECRET, asArrays, BODY, NOW), true);
  });

  it('fails when the body was changed after signing', () => {
    const headers = signedHeaders(APP_ID, SECRET, BODY, NOW);
    const tampered = BODY.replace('12345', '1');
    assert.equal(verifySignature(SECRET, headers, tampered, NOW), false);
  });

  it('fails with the wrong secret', () => {
    const headers = signedHeaders(APP_ID, 'some-other-secret-abcdefgh', BODY, NOW);
    assert.equal(verifySignature(SECRET, headers, BODY, NOW), false);
  });

  it('fails when the signature header is missing', () => {
    const headers: Record<string, string> = signedHeaders(APP_ID, SECRET, BODY, NOW);
    delete headers[sandboxHeaders.signature];
    assert.equal(verifySignature(SECRET, headers, BODY, NOW), false);
  });

  it('fails when the timestamp header is missing', () => {
    const headers: Record<string, string> = signedHeaders(APP_ID, SECRET, BODY, NOW);
    delete headers[sandboxHeaders.timestamp];
    assert.equal(verifySignature(SECRET, headers, BODY, NOW), false);
  });

  it('fails with no headers at all', () => {
    assert.equal(verifySignature(SECRET, {}, BODY, NOW), false);
  });

  it('fails when the timestamp is not a plain number', () => {
    for (const timestamp of ['abc', '-1', '1.5', '1e12', '']) {
      const headers = {
        [sandboxHeaders.timestamp]: timestamp,
        [sandboxHeaders.signature]: sign(SECRET, timestamp, BODY),
      };
      assert.equal(verifySignature(SECRET, headers, BODY, NOW), false, timestamp);
    }
  });

  it('fails when the signature is stale (signed more than 5 minutes ago)', () => {
    const signedAt = NOW - signatureToleranceMs - 1;
    const headers = signedHeaders(APP_ID, SECRET, BODY, signedAt);
    assert.equal(verifySignature(SECRET, headers, BODY, NOW), false);
  });

  it('fails when the timestamp is more than 5 minutes in the future', () => {
    const headers = signedHeaders(APP_ID, SECRET, BODY, NOW + signatureToleranceMs + 1);
    assert.equal(verifySignature(SECRET, headers, BODY, NOW), false);
  });

  it('still verifies at exactly 5 minutes old', () => {
    assert.equal(signatureToleranceMs, 5 * 60 * 1000);
    const headers = signedHeaders(APP_ID, SECRET, BODY, NOW - signatureToleranceMs);
    assert.equal(verifySignature(SECRET, headers, BODY, NOW), true);
  });

  it('fails for a truncated or garbage signature of another length', () => {
    const headers = signedHeaders(APP_ID, SECRET, BODY, NOW);
    const truncated = { ...headers, [sandboxHeaders.signature]: 'abc' };
    assert.equal(verifySignature(SECRET, truncated, BODY, NOW), false);
  });
});

describe('toPayStatus', () => {
  it('maps every sandbox trade status to ours', () => {
    assert.equal(toPayStatus('WAIT_BUYER_PAY'), 'PENDING');
    assert.equal(toPayStatus('TRADE_SUCCESS'), 'SUCCEEDED');
    assert.equal(toPayStatus('TRADE_CLOSED'), 'CLOSED');
  });
});

describe('sandbox adapter verifyNotification', () => {
  // A dummy base URL: verifyNotification is pure and never calls the gateway.
  const adapter = createSandboxAdapter({
    baseUrl: 'http://127.0.0.1:9',
    appId: APP_ID,
    secret: SECRET,
  });

  function notification(overrides: Partial<TradeNotification> = {}): TradeNotification {
    return {
      notify_id: 'ntf_001',
      out_trade_no: 'otn_1',
      trade_no: 'sbx_trade_1',
      trade_status: 'TRADE_SUCCESS',
      total_amount: 12_345,
      currency: 'CNY',
      gmt_payment: '2025-01-01T00:00:00Z',
      ...overrides,
    };
  }

  function signed(rawBody: string, secret = SECRET) {
    return { headers: signedHeaders(APP_ID, secret, rawBody, Date.now()), rawBody };
  }

  function assertDomainError(fn: () => unknown, code: string) {
    assert.throws(fn, (err: unknown) => {
      assert.ok(err instanceof DomainError, `a DomainError, got ${String(err)}`);
      assert.equal(err.code, code);
      return true;
    });
  }

  it('maps a signed TRADE_SUCCESS to a SUCCEEDED fact, deduplicated by notify_id', () => {
    const verified = adapter.verifyNotification(signed(JSON.stringify(notification())));
    assert.deepEqual(verified, {
      dedupeKey: 'ntf_001',
      fact: {
        outTradeNo: 'otn_1',
        status: 'SUCCEEDED',
        amount: 12_345,
        channelTradeNo: 'sbx_trade_1',
        source: 'notify',
      },
    });
  });

  it('maps WAIT_BUYER_PAY and TRADE_CLOSED notifications too', () => {
    const pending = adapter.verifyNotification(
      signed(JSON.stringify(notification({ trade_status: 'WAIT_BUYER_PAY' }))),
    );
    assert.equal(pending.fact.status, 'PENDING');
    const closed = adapter.verifyNotification(
      signed(JSON.stringify(notification({ trade_status: 'TRADE_CLOSED' }))),
    );
    assert.equal(closed.fact.status, 'CLOSED');
  });

  it('throws INVALID_SIGNATURE for a forged body (signed one body, sent another)', () => {
    const { headers } = signed(JSON.stringify(notification()));
    const forged = JSON.stringify(notification({ total_amount: 1 }));
    assertDomainError(
      () => adapter.verifyNotification({ headers, rawBody: forged }),
      'INVALID_SIGNATURE',
    );
  });

  it('throws INVALID_SIGNATURE for a body signed with another secret', () => {
    const request = signed(JSON.stringify(notification()), 'attacker-secret-0123456789');
    assertDomainError(() => adapter.verifyNotification(request), 'INVALID_SIGNATURE');
  });

  it('throws INVALID_SIGNATURE without signature headers, before parsing anything', () => {
    assertDomainError(
      () => adapter.verifyNotification({ headers: {}, rawBody: 'not even json' }),
      'INVALID_SIGNATURE',
    );
  });

  it('throws VALIDATION_FAILED for a signed body that is not JSON', () => {
    assertDomainError(() => adapter.verifyNotification(signed('{not json')), 'VALIDATION_FAILED');
  });

  it('throws VALIDATION_FAILED, naming the fields, for a signed but malformed notification', () => {
    const malformed = JSON.stringify({
      ...notification(),
      notify_id: '',
      trade_status: 'TRADE_MAYBE',
      total_amount: 123.45,
    });
    assert.throws(
      () => adapter.verifyNotification(signed(malformed)),
      (err: unknown) => {
        assert.ok(err instanceof DomainError);
        assert.equal(err.code, 'VALIDATION_FAILED');
        const fields = err.fields.map((f) => f.field).sort();
        assert.deepEqual(fields, ['notify_id', 'total_amount', 'trade_status']);
        return true;
      },
    );
  });

  it('throws VALIDATION_FAILED for a signed notification missing out_trade_no', () => {
    const { out_trade_no: _dropped, ...rest } = notification();
    assertDomainError(
      () => adapter.verifyNotification(signed(JSON.stringify(rest))),
      'VALIDATION_FAILED',
    );
  });

  it('answers the sandbox with "success" to stop its retries and "fail" to make it retry', () => {
    assert.equal(adapter.replies.accepted.status, 200);
    assert.equal(adapter.replies.accepted.body, 'success');
    assert.equal(adapter.replies.rejected.status, 500);
    assert.equal(adapter.replies.rejected.body, 'fail');
  });
});
