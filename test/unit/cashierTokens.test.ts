// Issue 12, cashier tokens: signing and verifying the cashierUrl's token, and the cashier pay limiter.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createMinuteLimiter } from '../../src/api/minuteLimiter';
import {
  deriveCashierTokenSecret,
  signCashierToken,
  verifyCashierToken,
} from '../../src/domain/cashierTokens';
import { loadConfig } from '../../src/config';

const secret = 'a-cashier-token-secret-of-32-characters';
const payOrderId = 'po_01J0000000000000000000000A';
const expiresAt = new Date('2030-01-01T00:30:00.500Z');
const before = new Date('2030-01-01T00:00:00Z');

describe('issue 12: cashier tokens', () => {
  it('a token opens its own pay order until the order expires', () => {
    const token = signCashierToken(secret, payOrderId, expiresAt);
    assert.match(token, /^\d+\.[A-Za-z0-9_-]{43}$/);
    assert.equal(verifyCashierToken(secret, payOrderId, token, before), 'VALID');
    // Rounded up to the second: it never ends before the order does.
    assert.equal(verifyCashierToken(secret, payOrderId, token, expiresAt), 'VALID');
    assert.equal(
      verifyCashierToken(secret, payOrderId, token, new Date('2030-01-01T00:30:01Z')),
      'EXPIRED',
    );
  });

  it("refuses a missing token, another order's, another secret's, and a changed expiry", () => {
    const token = signCashierToken(secret, payOrderId, expiresAt);
    const [expiry, mac] = token.split('.');
    const other = signCashierToken(secret, 'po_01J0000000000000000000000B', expiresAt);
    assert.equal(verifyCashierToken(secret, payOrderId, undefined, before), 'MISSING');
    assert.equal(verifyCashierToken(secret, payOrderId, '', before), 'MISSING');
    for (const forged of [
      other,
      signCashierToken(`${secret}!`, payOrderId, expiresAt),
      `${Number(expiry) + 1}.${mac}`,
      `${expiry}.${mac!.slice(0, -1)}`,
      `${expiry}.${mac}=`,
      'garbage',
    ]) {
      assert.equal(verifyCashierToken(secret, payOrderId, forged, before), 'FORGED', forged);
    }
  });

  it('an expired forgery is FORGED, not EXPIRED: only a valid signature learns its expiry', () => {
    const stale = signCashierToken(`${secret}!`, payOrderId, new Date('2020-01-01T00:00:00Z'));
    assert.equal(verifyCashierToken(secret, payOrderId, stale, before), 'FORGED');
  });

  it('the derived secret is stable for one server secret and differs between them', () => {
    assert.equal(deriveCashierTokenSecret('ops_a'), deriveCashierTokenSecret('ops_a'));
    assert.notEqual(deriveCashierTokenSecret('ops_a'), deriveCashierTokenSecret('ops_b'));
    assert.notEqual(deriveCashierTokenSecret('ops_a'), 'ops_a');
  });

  it('configuration: CASHIER_TOKEN_SECRET must be long enough; the pay limit defaults to 20', () => {
    assert.equal(loadConfig({}).CASHIER_PAY_LIMIT_PER_MINUTE, 20);
    assert.equal(loadConfig({}).CASHIER_TOKEN_SECRET, undefined);
    assert.throws(() => loadConfig({ CASHIER_TOKEN_SECRET: 'short' }), /CASHIER_TOKEN_SECRET/);
    assert.throws(() => loadConfig({ CASHIER_PAY_LIMIT_PER_MINUTE: '0' }), /CASHIER_PAY_LIMIT/);
  });
});

describe('issue 12: the cashier pay limiter', () => {
  it('allows max hits a minute per key, then answers the seconds to wait; keys are apart', () => {
    let now = 1_000_000;
    const limiter = createMinuteLimiter(3, () => now);
    assert.deepEqual(
      [1, 2, 3].map(() => limiter.hit('payOrder:a')),
      [0, 0, 0],
    );
    assert.equal(limiter.hit('payOrder:a'), 60);
    assert.equal(limiter.hit('payOrder:b'), 0);
    now += 45_000;
    assert.equal(limiter.hit('payOrder:a'), 15);
    now += 15_000;
    assert.equal(limiter.hit('payOrder:a'), 0);
  });
});
