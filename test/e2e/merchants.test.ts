// Operators manage merchants and their API keys (/ops/merchants), and `main.ts merchant create`
// does the same from the command line. Keys are shown once, stored as hashes, and revocable.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { eq } from 'drizzle-orm';
import { merchantApiKeys, merchants } from '../../src/db/schema';
import { openNotifySecrets } from '../../src/services/notifySecrets';
import { payOrderBody } from '../support/payments';
import { runDatabaseUrl, startTestSystem, testSecretBox, type TestSystem } from '../support/system';

let system: TestSystem;
before(async () => {
  system = await startTestSystem();
});
after(async () => {
  await system?.stop();
});

const asKey = (key: string) => ({ authorization: `Bearer ${key}` });

const newOrder = () => payOrderBody({ prefix: 'order', amount: 1_000, subject: 'A tea' });

function assertProblem(answer: { status: number; contentType: string; body: any }, status: number) {
  assert.equal(answer.status, status, JSON.stringify(answer.body));
  assert.match(answer.contentType, /^application\/problem\+json/);
  assert.equal(typeof answer.body.code, 'string');
}

describe('merchants managed by operators', () => {
  it('creates a merchant whose key works on /v1 and sees only its own orders', async () => {
    const created = await system.createMerchant('Tea shop');
    assert.match(created.merchant.id, /^mch_[0-9A-Z]{26}$/);
    assert.equal(created.merchant.name, 'Tea shop');
    assert.ok(!Number.isNaN(Date.parse(created.merchant.createdAt)));
    assert.match(created.apiKey.id, /^key_[0-9A-Z]{26}$/);
    assert.ok(created.apiKey.key.startsWith(created.apiKey.prefix));
    assert.ok(created.apiKey.prefix.length < created.apiKey.key.length);
    assert.match(created.notifySecret, /^whsec_/);

    // Stored: the key's hash only, and the notify secret sealed.
    const [stored] = await system.database.db
      .select()
      .from(merchantApiKeys)
      .where(eq(merchantApiKeys.id, created.apiKey.id));
    assert.ok(stored);
    assert.notEqual(stored.keyHash, created.apiKey.key);
    assert.match(stored.keyHash, /^[0-9a-f]{64}$/);
    const [merchantRow] = await system.database.db
      .select()
      .from(merchants)
      .where(eq(merchants.id, created.merchant.id));
    assert.equal(
      openNotifySecrets(testSecretBox, merchantRow!.notifySecret).current,
      created.notifySecret,
    );

    const key = created.apiKey.key;
    const own = await system.api('POST', '/v1/pay-orders', newOrder(), asKey(key));
    assert.equal(own.status, 201, JSON.stringify(own.body));
    assert.equal(
      (await system.api('GET', `/v1/pay-orders/${own.body.id}`, undefined, asKey(key))).status,
      200,
    );

    // The demo merchant's order does not exist for the new merchant, and vice versa.
    const demo = await system.api('POST', '/v1/pay-orders', newOrder());
    assert.equal(demo.status, 201, JSON.stringify(demo.body));
    assertProblem(
      await system.api('GET', `/v1/pay-orders/${demo.body.id}`, undefined, asKey(key)),
      404,
    );
    assertProblem(
      await system.api(
        'POST',
        `/v1/pay-orders/${demo.body.id}/pay`,
        { channel: 'sandbox' },
        asKey(key),
      ),
      404,
    );
    assertProblem(await system.api('GET', `/v1/pay-orders/${own.body.id}`), 404);
    const listed = await system.api('GET', '/v1/pay-orders', undefined, asKey(key));
    assert.equal(listed.status, 200);
    assert.deepEqual(
      listed.body.items.map((o: { id: string }) => o.id),
      [own.body.id],
    );
  });

  it('issues more keys, and a revoked key answers 401 at once while the others still work', async () => {
    const created = await system.createMerchant('Rotating shop');
    const id = created.merchant.id;
    const first = created.apiKey;

    const issued = await system.ops('POST', `/ops/merchants/${id}/keys`);
    assert.equal(issued.status, 201, JSON.stringify(issued.body));
    const second = issued.body as { id: string; key: string; prefix: string };
    assert.notEqual(second.id, first.id);
    assert.notEqual(second.key, first.key);
    assert.equal(
      (await system.api('GET', '/v1/pay-orders', undefined, asKey(first.key))).status,
      200,
    );
    assert.equal(
      (await system.api('GET', '/v1/pay-orders', undefined, asKey(second.key))).status,
      200,
    );

    const revoked = await system.ops('DELETE', `/ops/merchants/${id}/keys/${first.id}`);
    assert.equal(revoked.status, 200, JSON.stringify(revoked.body));
    assert.equal(revoked.body.id, first.id);
    assert.ok(!Number.isNaN(Date.parse(revoked.body.revokedAt)));

    assertProblem(await system.api('GET', '/v1/pay-orders', undefined, asKey(first.key)), 401);
    assertProblem(await system.api('POST', '/v1/pay-orders', newOrder(), asKey(first.key)), 401);
    assert.equal(
      (await system.api('GET', '/v1/pay-orders', undefined, asKey(second.key))).status,
      200,
    );

    // Revoking again changes nothing.
    const again = await system.ops('DELETE', `/ops/merchants/${id}/keys/${first.id}`);
    assert.equal(again.status, 200);
    assert.equal(again.body.revokedAt, revoked.body.revokedAt);

    const described = await system.ops('GET', `/ops/merchants/${id}`);
    assert.equal(described.status, 200, JSON.stringify(described.body));
    assert.equal(described.body.id, id);
    assert.equal(described.body.name, 'Rotating shop');
    assert.deepEqual(
      described.body.keys.map((k: { id: string; prefix: string; revokedAt: string | null }) => [
        k.id,
        k.prefix,
        k.revokedAt === null,
      ]),
      [
        [first.id, first.prefix, false],
        [second.id, second.prefix, true],
      ],
    );
    for (const k of described.body.keys) {
      assert.deepEqual(Object.keys(k).sort(), ['createdAt', 'id', 'prefix', 'revokedAt']);
    }
    // Neither a key nor a hash appears anywhere in the answer.
    const text = JSON.stringify(described.body);
    const hashes = await system.database.db
      .select({ keyHash: merchantApiKeys.keyHash })
      .from(merchantApiKeys)
      .where(eq(merchantApiKeys.merchantId, id));
    for (const secret of [
      first.key,
      second.key,
      created.notifySecret,
      ...hashes.map((h) => h.keyHash),
    ]) {
      assert.ok(!text.includes(secret), 'GET /ops/merchants/{id} leaks a secret');
    }
  });

  it('answers 404 for unknown merchants and keys, and 400 naming the field for bad input', async () => {
    const created = await system.createMerchant('Other shop');
    const unknownMerchant = 'mch_00000000000000000000000000';
    const unknownKey = 'key_00000000000000000000000000';
    assertProblem(await system.ops('GET', `/ops/merchants/${unknownMerchant}`), 404);
    assertProblem(await system.ops('POST', `/ops/merchants/${unknownMerchant}/keys`), 404);
    assertProblem(
      await system.ops('DELETE', `/ops/merchants/${unknownMerchant}/keys/${unknownKey}`),
      404,
    );
    assertProblem(
      await system.ops('DELETE', `/ops/merchants/${created.merchant.id}/keys/${unknownKey}`),
      404,
    );
    // Another merchant's key cannot be revoked through this merchant.
    const other = await system.createMerchant('Neighbour');
    assertProblem(
      await system.ops('DELETE', `/ops/merchants/${created.merchant.id}/keys/${other.apiKey.id}`),
      404,
    );
    assert.equal(
      (await system.api('GET', '/v1/pay-orders', undefined, asKey(other.apiKey.key))).status,
      200,
    );

    for (const [body, field] of [
      [{}, 'body.name'],
      [{ name: '   ' }, 'body.name'],
      [{ name: 42 }, 'body.name'],
      [{ name: 'x'.repeat(129) }, 'body.name'],
      [{ name: 'Shop', extra: true }, 'body'],
    ] as const) {
      const answer = await system.ops('POST', '/ops/merchants', body);
      assertProblem(answer, 400);
      assert.equal(answer.body.code, 'VALIDATION_FAILED');
      assert.ok(
        answer.body.errors.some((e: { field: string }) => e.field === field),
        JSON.stringify(answer.body),
      );
    }
    const badPath = await system.ops('GET', '/ops/merchants/not-a-merchant');
    assertProblem(badPath, 400);
    assert.equal(badPath.body.errors[0].field, 'path.id');
  });

  it('refuses merchant keys and missing keys on the ops endpoints', async () => {
    const created = await system.createMerchant('Curious shop');
    const id = created.merchant.id;
    const key = created.apiKey.key;
    assertProblem(await system.api('POST', '/ops/merchants', { name: 'Mine' }, asKey(key)), 401);
    assertProblem(await system.api('GET', `/ops/merchants/${id}`, undefined, asKey(key)), 401);
    assertProblem(
      await system.api('POST', `/ops/merchants/${id}/keys`, undefined, asKey(key)),
      401,
    );
    assertProblem(
      await system.api(
        'DELETE',
        `/ops/merchants/${id}/keys/${created.apiKey.id}`,
        undefined,
        asKey(key),
      ),
      401,
    );
    assertProblem(
      await system.api('GET', `/ops/merchants/${id}`, undefined, asKey(system.apiKey)),
      401,
    );
    assertProblem(
      await system.api('GET', `/ops/merchants/${id}`, undefined, { authorization: '' }),
      401,
    );
    // Still live and still the only key.
    assert.equal((await system.api('GET', '/v1/pay-orders', undefined, asKey(key))).status, 200);
    const described = await system.ops('GET', `/ops/merchants/${id}`);
    assert.equal(described.body.keys.length, 1);
  });
});

describe('main.ts merchant create', () => {
  it('prints a merchant ID, a working API key and a notify secret', async () => {
    const root = path.resolve(__dirname, '../..');
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', 'src/main.ts', 'merchant', 'create', '--name', 'Shop from the CLI'],
      {
        cwd: root,
        env: { ...process.env, DATABASE_URL: runDatabaseUrl(), LOG_LEVEL: 'warn' },
        timeout: 30_000,
      },
    );
    const id = /Merchant ID:\s+(mch_\S+)/.exec(stdout)?.[1];
    const key = /API key:\s+(\S+)/.exec(stdout)?.[1];
    const secret = /Notify secret:\s+(whsec_\S+)/.exec(stdout)?.[1];
    assert.ok(id && key && secret, stdout);

    const created = await system.api('POST', '/v1/pay-orders', newOrder(), asKey(key));
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const described = await system.ops('GET', `/ops/merchants/${id}`);
    assert.equal(described.status, 200);
    assert.equal(described.body.name, 'Shop from the CLI');
    assert.equal(described.body.keys.length, 1);
    assert.ok(key.startsWith(described.body.keys[0].prefix));
  });

  it('refuses a missing name with a usage message', async () => {
    const root = path.resolve(__dirname, '../..');
    await assert.rejects(
      promisify(execFile)(
        process.execPath,
        ['--import', 'tsx', 'src/main.ts', 'merchant', 'create'],
        {
          cwd: root,
          env: { ...process.env, DATABASE_URL: runDatabaseUrl(), LOG_LEVEL: 'warn' },
          timeout: 30_000,
        },
      ),
      (err: { code?: number; stderr?: string }) => {
        assert.equal(err.code, 1);
        assert.match(err.stderr ?? '', /usage: merchant create --name/);
        return true;
      },
    );
  });
});
