// Live and test mode: a live deployment pays only through real channels with every credential
// configured, refuses test keys and test-signed notifications, and never shares a database with
// test mode. The simulator's faces stand in for the real channels' servers here.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { eq } from 'drizzle-orm';
import { channelNotifications } from '../../src/db/schema';
import { ensureMerchant, generateSecret } from '../../src/services/merchants';
import { claimDatabaseMode } from '../../src/services/deploymentMode';
import { alipaySuccessParams, signedAlipayBody } from '../support/alipayNotifications';
import { expectMoneyConserved, expectNothingCollected } from '../support/money';
import { createPayOrder } from '../support/payments';
import {
  eventually,
  liveChannelKeys,
  liveModeEnv,
  startTestSystem,
  testChannelKeys,
  testSecretBox,
  type TestSystem,
} from '../support/system';

let live: TestSystem;
before(async () => {
  live = await startTestSystem({ mode: 'live', env: { QUERY_SCHEDULE_SECONDS: '1' } });
});
after(async () => {
  await live?.stop();
});

const AMOUNT = 4_200;

const newOrder = () =>
  createPayOrder(live, {
    prefix: 'live',
    amount: AMOUNT,
    subject: 'A live coffee',
    expiresInSeconds: 600,
  });

const view = async (id: string) => (await live.api('GET', `/v1/pay-orders/${id}`)).body;

describe('a live deployment', () => {
  it('issues live keys and pays through a configured real channel', async () => {
    assert.match(live.apiKey, /^pk_live_/);
    const id = await newOrder();
    const paid = await live.api('POST', `/v1/pay-orders/${id}/pay`, {
      channel: 'alipay',
      method: 'qr',
    });
    assert.equal(paid.status, 200, JSON.stringify(paid.body));
    const { outTradeNo } = paid.body.attempt;
    await live.simulator('POST', `/control/payments/${outTradeNo}/pay`);
    await eventually(async () => (await view(id)).status === 'SUCCEEDED', { what: 'paid' });
    await expectMoneyConserved(live, id);
  });

  it('cannot pay with the sandbox channel, and offers only the real channels', async () => {
    const id = await newOrder();
    const refused = await live.api('POST', `/v1/pay-orders/${id}/pay`, {
      channel: 'sandbox',
      method: 'page',
    });
    assert.equal(refused.status, 400, JSON.stringify(refused.body));
    assert.equal(refused.body.code, 'UNSUPPORTED_CHANNEL');
    const offered = refused.body.errors[0].message as string;
    assert.match(offered, /alipay/);
    assert.doesNotMatch(offered, /sandbox/);
    assert.equal((await view(id)).attempts.length, 0);
    const cashier = await fetch(new URL((await view(id)).cashierUrl));
    assert.doesNotMatch(await cashier.text(), /value="sandbox"|>sandbox</i);
  });

  it('refuses a test-mode key for what it is', async () => {
    const answer = await live.api('GET', '/v1/pay-orders', undefined, {
      authorization: `Bearer ${generateSecret('pk_test')}`,
    });
    assert.equal(answer.status, 401);
    assert.equal(answer.body.code, 'MODE_MISMATCH');
    assert.match(answer.body.detail ?? answer.body.title, /test-mode API key.*live mode/);
  });

  it('never lets a test notification touch a live order', async () => {
    const id = await newOrder();
    const paid = await live.api('POST', `/v1/pay-orders/${id}/pay`, {
      channel: 'alipay',
      method: 'qr',
    });
    const { outTradeNo } = paid.body.attempt;
    // The sandbox channel's webhook does not exist in live mode.
    const sandboxHook = await fetch(`${live.apiUrl}/webhooks/sandbox`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ outTradeNo, status: 'SUCCESS' }),
    });
    assert.equal(sandboxHook.status, 404);
    // An Alipay success signed by a test deployment's (generated) Alipay key is forged here.
    assert.notEqual(
      testChannelKeys().alipay.platform.publicKey,
      liveChannelKeys().alipay.platform.publicKey,
    );
    const params = alipaySuccessParams({
      appId: live.config.ALIPAY_APP_ID,
      tradeNo: `2026${Date.now()}`,
      outTradeNo,
      amount: AMOUNT,
    });
    const hook = await fetch(`${live.apiUrl}/webhooks/alipay`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' },
      body: signedAlipayBody(params, testChannelKeys().alipay.platform.privateKey),
    });
    assert.notEqual(hook.status, 200);
    const stored = await live.database.db
      .select()
      .from(channelNotifications)
      .where(eq(channelNotifications.outTradeNo, outTradeNo));
    assert.equal(stored.length, 0, 'nothing stored');
    const order = await view(id);
    assert.equal(order.status, 'PAYING');
    assert.equal(order.attempts[0].status, 'PENDING');
    await expectNothingCollected(live, id);
  });

  it('keeps its database and keys: a test deployment refuses both, and they refuse the test ones', async () => {
    await assert.rejects(
      claimDatabaseMode(live.database.db, 'test'),
      /belongs to live mode.*test-mode process needs a database of its own/,
    );
    const test = await startTestSystem();
    try {
      const liveKey = await test.api('GET', '/v1/pay-orders', undefined, {
        authorization: `Bearer ${generateSecret('pk_live')}`,
      });
      assert.equal(liveKey.status, 401);
      assert.equal(liveKey.body.code, 'MODE_MISMATCH');
      // Before modes, every merchant key was issued pk_live_, in test deployments too: those the
      // database knows still authenticate.
      const olderKey = generateSecret('pk_live');
      await ensureMerchant(
        test.database.db,
        { id: `mch_before_modes_${Date.now()}`, name: 'Before modes' },
        olderKey,
        testSecretBox,
      );
      const older = await test.api('GET', '/v1/pay-orders', undefined, {
        authorization: `Bearer ${olderKey}`,
      });
      assert.equal(older.status, 200, JSON.stringify(older.body));
      await assert.rejects(
        claimDatabaseMode(test.database.db, 'live'),
        /belongs to test mode.*live-mode process/,
      );
    } finally {
      await test.stop();
    }
  });
});

const run = promisify(execFile);

/** Starts `src/main.ts <command>` with `env` only (and PATH); answers how it ended. */
async function startProcess(command: string, env: Record<string, string>) {
  const main = path.resolve(__dirname, '../../src/main.ts');
  try {
    const { stdout, stderr } = await run(process.execPath, ['--import', 'tsx', main, command], {
      env: {
        PATH: process.env.PATH ?? '',
        DATA_DIR: mkdtempSync(path.join(tmpdir(), 'pc-')),
        ...env,
      },
      timeout: 60_000,
    });
    return { code: 0, output: stdout + stderr };
  } catch (err) {
    const failed = err as { code: number; stdout: string; stderr: string };
    return { code: failed.code, output: failed.stdout + failed.stderr };
  }
}

describe('a live process at start', () => {
  const complete = () =>
    liveModeEnv(liveChannelKeys(), {
      apiUrl: 'https://pay.example.com',
      simulatorUrl: 'https://channel.example.com',
      databaseUrl: 'postgres://paycenter@127.0.0.1:1/never_reached',
      temporalAddress: '127.0.0.1:1',
    });
  const secretKey = { PAYCENTER_SECRET_KEY: 'a'.repeat(64) };

  it('refuses half-configured Alipay, naming the missing variable', async () => {
    const { ALIPAY_APP_PRIVATE_KEY, ALIPAY_APP_ID, ...rest } = complete();
    const env = { ...rest, ...secretKey, ALIPAY_APP_ID };
    // only WeChat Pay and bank card complete; Alipay has its ID but not its private key
    const ended = await startProcess('api', env);
    assert.ok(ALIPAY_APP_PRIVATE_KEY);
    assert.equal(ended.code, 1, ended.output);
    assert.match(ended.output, /Live mode refuses to start/);
    assert.match(ended.output, /ALIPAY_APP_PRIVATE_KEY: alipay is partly configured/);
  });

  it('refuses to run the channel simulator (by either name), or without the secret key', async () => {
    for (const name of ['simulator', 'sandbox']) {
      const simulator = await startProcess(name, { ...complete(), ...secretKey });
      assert.equal(simulator.code, 1, simulator.output);
      assert.match(simulator.output, /channel simulator, which serves test mode only/);
    }
    const noSecret = await startProcess('worker', complete());
    assert.equal(noSecret.code, 1, noSecret.output);
    assert.match(noSecret.output, /PAYCENTER_SECRET_KEY is required/);
  });
});
