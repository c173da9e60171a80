// The client package's notification check against paycenter's own signer: what paycenter signs
// is accepted (during a secret's rotation too), anything changed, late or unsigned is refused.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { NotificationRejected, verifyNotification } from '@paycenter/client';
import { signMerchantNotification } from '../../src/domain/merchantSignature';
import { clientTypes, clientTypesFile } from '../../scripts/clientTypes';

const event = {
  id: 'evt_01M8Z5Q6W0N2S3T4V5W6X7Y8Z9',
  type: 'pay_order.succeeded',
  createdAt: '2026-12-04T08:00:00.000Z',
  data: {
    payOrderId: 'po_01M8Z5Q6W0N2S3T4V5W6X7Y8Z9',
    merchantOrderNo: 'order-1001',
    status: 'SUCCEEDED',
    amount: 1234,
    currency: 'CNY',
  },
};
const body = JSON.stringify(event);
const now = new Date('2026-12-04T08:00:10Z');
const headersFor = (signature: string, eventId = event.id) => ({
  'Paycenter-Signature': signature,
  'Paycenter-Event-Id': eventId,
});

function rejection(work: () => unknown): string {
  try {
    work();
  } catch (err) {
    if (err instanceof NotificationRejected) return err.reason;
    throw err;
  }
  return 'accepted';
}

describe('verifyNotification', () => {
  it("accepts what paycenter signs, from a string, a Buffer or Fetch's Headers", () => {
    const signature = signMerchantNotification(['whsec_one'], body, now.getTime() - 5_000);
    assert.deepEqual(verifyNotification(body, headersFor(signature), 'whsec_one', { now }), event);
    assert.equal(
      verifyNotification(Buffer.from(body), new Headers(headersFor(signature)), ['whsec_one'], {
        now,
      }).id,
      event.id,
    );
  });

  it('accepts both secrets while one rotates, and a shop that holds either', () => {
    const signature = signMerchantNotification(['whsec_new', 'whsec_old'], body, now.getTime());
    for (const secrets of [['whsec_new'], ['whsec_old'], ['whsec_old', 'whsec_new']]) {
      assert.equal(verifyNotification(body, headersFor(signature), secrets, { now }).id, event.id);
    }
  });

  it('refuses a changed body, another secret, an old signature, no signature, another event ID', () => {
    const signature = signMerchantNotification(['whsec_one'], body, now.getTime());
    const changed = body.replace('1234', '123400');
    assert.equal(
      rejection(() => verifyNotification(changed, headersFor(signature), 'whsec_one', { now })),
      'BAD_SIGNATURE',
    );
    assert.equal(
      rejection(() => verifyNotification(body, headersFor(signature), 'whsec_two', { now })),
      'BAD_SIGNATURE',
    );
    const later = new Date(now.getTime() + 301_000);
    assert.equal(
      rejection(() => verifyNotification(body, headersFor(signature), 'whsec_one', { now: later })),
      'STALE_TIMESTAMP',
    );
    assert.equal(
      verifyNotification(body, headersFor(signature), 'whsec_one', {
        now: later,
        toleranceSeconds: 600,
      }).id,
      event.id,
    );
    assert.equal(
      rejection(() => verifyNotification(body, {}, 'whsec_one', { now })),
      'NO_SIGNATURE',
    );
    assert.equal(
      rejection(() => verifyNotification(body, headersFor('v1=abc'), 'whsec_one', { now })),
      'NO_SIGNATURE',
    );
    assert.equal(
      rejection(() =>
        verifyNotification(body, headersFor(signature, 'evt_other'), 'whsec_one', { now }),
      ),
      'EVENT_ID_MISMATCH',
    );
  });

  it('refuses a signed body that is not an event', () => {
    const notJson = 'not json';
    const signature = signMerchantNotification(['whsec_one'], notJson, now.getTime());
    assert.equal(
      rejection(() => verifyNotification(notJson, headersFor(signature), 'whsec_one', { now })),
      'MALFORMED_BODY',
    );
  });
});

describe("the client's types", () => {
  it('are what openapi-typescript makes of the API’s document now (npm run client:types)', async () => {
    assert.equal(readFileSync(clientTypesFile, 'utf8'), await clientTypes());
  });
});
