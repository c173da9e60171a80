// Issue 12, secrets: merchants' notify secrets are sealed at rest and rotate with an overlap in
// which deliveries carry both signatures (`v1=<new>,v1=<old>`), then only the new one.
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { eq } from 'drizzle-orm';
import {
  merchantSignatureHeader,
  verifyMerchantNotification,
} from '../../src/domain/merchantSignature';
import { merchants } from '../../src/db/schema';
import { generateSecret } from '../../src/services/merchants';
import { sealPlainNotifySecrets } from '../../src/services/notifySecrets';
import { payerPays, payOrderBody } from '../support/payments';
import { eventually, startTestSystem, testSecretBox, type TestSystem } from '../support/system';

interface Delivery {
  signature: string;
  body: string;
}

/** The merchant's endpoint: takes every notification, keeps it by pay order ID. */
const deliveries = new Map<string, Delivery>();
const receiver = http.createServer((req, res) => {
  let body = '';
  req.on('data', (chunk) => (body += chunk));
  req.on('end', () => {
    const payOrderId = JSON.parse(body).data.payOrderId as string;
    deliveries.set(payOrderId, { signature: String(req.headers[merchantSignatureHeader]), body });
    res.writeHead(200).end();
  });
});
let receiverUrl = '';

let system: TestSystem;
/** The same deployment with a one-second overlap: rotations there end while the test waits. */
let shortOverlap: TestSystem;
before(async () => {
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/notify`;
  system = await startTestSystem();
  shortOverlap = await startTestSystem({ env: { NOTIFY_SECRET_ROTATION_OVERLAP_SECONDS: '1' } });
});
after(async () => {
  await shortOverlap?.stop();
  await system?.stop();
  await new Promise((resolve) => receiver.close(resolve));
});

async function createMerchant(on: TestSystem, name: string) {
  const { merchant, apiKey, notifySecret } = await on.createMerchant(name);
  return { id: merchant.id, apiKey: apiKey.key, notifySecret };
}

async function rotate(on: TestSystem, merchantId: string) {
  const rotated = await on.ops('POST', `/ops/merchants/${merchantId}/notify-secret/rotate`);
  assert.equal(rotated.status, 200, JSON.stringify(rotated.body));
  assert.equal(rotated.body.merchantId, merchantId);
  assert.match(rotated.body.notifySecret, /^whsec_/);
  return rotated.body as { notifySecret: string; previousSecretValidUntil: string };
}

/** A pay order of the merchant, paid at the simulator; answers the notification it was told. */
async function paidOrderNotification(on: TestSystem, apiKey: string): Promise<Delivery> {
  const auth = { authorization: `Bearer ${apiKey}` };
  const created = await on.api(
    'POST',
    '/v1/pay-orders',
    payOrderBody({ prefix: 'secret', amount: 1_500, subject: 'Tea', notifyUrl: receiverUrl }),
    auth,
  );
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const id = created.body.id as string;
  const paid = await on.api('POST', `/v1/pay-orders/${id}/pay`, { channel: 'sandbox' }, auth);
  assert.equal(paid.status, 200, JSON.stringify(paid.body));
  await payerPays(on, paid.body.attempt.outTradeNo);
  return eventually(async () => deliveries.get(id), { what: `the notification of ${id}` });
}

const verifies = (secret: string, delivery: Delivery) =>
  verifyMerchantNotification(secret, delivery.body, delivery.signature, Date.now());

async function storedSecret(on: TestSystem, merchantId: string) {
  const [row] = await on.database.db
    .select({ stored: merchants.notifySecret })
    .from(merchants)
    .where(eq(merchants.id, merchantId));
  return row!.stored;
}

describe('issue 12: notify secrets', () => {
  it('issue 12: the stored notify secret is sealed, never the plain secret', async () => {
    const merchant = await createMerchant(system, 'Sealed shop');
    const stored = await storedSecret(system, merchant.id);
    assert.notEqual(stored, merchant.notifySecret);
    assert.ok(!stored.includes(merchant.notifySecret), 'the column shows the secret');
    assert.match(stored, /^sb1\./);
    assert.ok(
      verifies(merchant.notifySecret, await paidOrderNotification(system, merchant.apiKey)),
    );
  });

  it('issue 12: a rotated secret — during the overlap a delivery verifies with both the old and the new', async () => {
    const merchant = await createMerchant(system, 'Rotating shop');
    const rotated = await rotate(system, merchant.id);
    assert.notEqual(rotated.notifySecret, merchant.notifySecret);
    assert.ok(Date.parse(rotated.previousSecretValidUntil) > Date.now() + 3600_000);
    // The rotation is an operator's action: one audit row, never holding a secret.
    const audit = await system.ops(
      'GET',
      `/ops/audit?action=merchant.rotate_notify_secret&subjectId=${merchant.id}`,
    );
    assert.equal(audit.status, 200, JSON.stringify(audit.body));
    assert.equal(audit.body.items.length, 1);
    assert.doesNotMatch(JSON.stringify(audit.body), /whsec_/);

    const delivery = await paidOrderNotification(system, merchant.apiKey);
    assert.match(delivery.signature, /^t=\d+,v1=[0-9a-f]{64},v1=[0-9a-f]{64}$/);
    assert.ok(verifies(rotated.notifySecret, delivery), 'the new secret does not verify');
    assert.ok(verifies(merchant.notifySecret, delivery), 'the old secret does not verify');
    assert.ok(!verifies(generateSecret('whsec'), delivery));
    assert.ok(!(await storedSecret(system, merchant.id)).includes(rotated.notifySecret));
  });

  it('issue 12: a rotated secret — after the overlap only the new one verifies', async () => {
    const merchant = await createMerchant(shortOverlap, 'Rotated shop');
    const rotated = await rotate(shortOverlap, merchant.id);
    await eventually(async () => Date.now() > Date.parse(rotated.previousSecretValidUntil), {
      what: 'the end of the overlap',
    });

    const delivery = await paidOrderNotification(shortOverlap, merchant.apiKey);
    assert.match(delivery.signature, /^t=\d+,v1=[0-9a-f]{64}$/);
    assert.ok(verifies(rotated.notifySecret, delivery), 'the new secret does not verify');
    assert.ok(!verifies(merchant.notifySecret, delivery), 'the old secret still verifies');
  });

  it('issue 12: rotating an unknown merchant answers 404, a body with options 400', async () => {
    const unknown = await system.ops(
      'POST',
      '/ops/merchants/mch_00000000000000000000000000/notify-secret/rotate',
    );
    assert.equal(unknown.status, 404, JSON.stringify(unknown.body));
    assert.equal(unknown.body.code, 'NOT_FOUND');
    const merchant = await createMerchant(system, 'Careful shop');
    const withOptions = await system.ops(
      'POST',
      `/ops/merchants/${merchant.id}/notify-secret/rotate`,
      { overlapSeconds: 5 },
    );
    assert.equal(withOptions.status, 400, JSON.stringify(withOptions.body));
    assert.match(withOptions.body.detail, /unknown field\(s\): overlapSeconds/);
  });

  it('issue 12: a secret stored in plain text before sealing keeps working, and migrate seals it', async () => {
    const merchant = await createMerchant(system, 'Old shop');
    const plain = generateSecret('whsec');
    await system.database.db
      .update(merchants)
      .set({ notifySecret: plain })
      .where(eq(merchants.id, merchant.id));
    assert.ok(verifies(plain, await paidOrderNotification(system, merchant.apiKey)));

    assert.ok((await sealPlainNotifySecrets(system.database.db, testSecretBox)) >= 1);
    const stored = await storedSecret(system, merchant.id);
    assert.match(stored, /^sb1\./);
    assert.ok(!stored.includes(plain));
    assert.ok(verifies(plain, await paidOrderNotification(system, merchant.apiKey)));
  });
});
