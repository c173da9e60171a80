// Issue 12: WeChat Pay platform certificate rotation. The adapter holds serial -> public key,
// seeded by the configured certificate and refreshed from GET /v3/certificates (served by the
// simulator, which can rotate its platform certificate) when a serial is unknown, at most once
// per interval.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { WechatpayCredentials } from '../../src/channels/credentials';
import { generateKeyPair } from '../../src/channels/keys';
import { createWechatpayAdapter } from '../../src/channels/wechatpay/adapter';
import { PlatformCertificates } from '../../src/channels/wechatpay/certificates';
import { signedHeaders } from '../../src/channels/wechatpay/protocol';
import { DomainError } from '../../src/domain/errors';
import { createLogger } from '../../src/log';
import { wechatpayFace } from '../../simulator/faces/wechatpay';
import { buildSimulator } from '../../simulator/server';
import { freePort } from '../support/ports';
import { testChannelKeys } from '../support/system';

const keys = testChannelKeys().wechatpay;
const MCH_ID = '1900000001';
const APP_ID = 'wx0000000000000001';

let publicUrl: string;
let stop: () => Promise<void>;

before(async () => {
  const port = await freePort();
  publicUrl = `http://127.0.0.1:${port}`;
  const face = wechatpayFace({
    mchId: MCH_ID,
    appId: APP_ID,
    mchPublicKey: keys.merchant.publicKey,
    mchSerialNo: keys.merchant.serial,
    apiV3Key: keys.apiV3Key,
    platformPrivateKey: keys.platform.privateKey,
    platformSerialNo: keys.platform.serial,
    retrySeconds: [],
    publicUrl,
  });
  const built = buildSimulator({ publicUrl, faces: [face], log: createLogger('silent') });
  await built.app.listen({ host: '127.0.0.1', port });
  stop = () => built.app.close();
});
after(async () => {
  await stop?.();
});

function adapter(over: Partial<WechatpayCredentials> = {}) {
  const credentials: WechatpayCredentials = {
    mchId: MCH_ID,
    appId: APP_ID,
    mchPrivateKey: keys.merchant.privateKey,
    mchSerialNo: keys.merchant.serial,
    apiV3Key: keys.apiV3Key,
    platformPublicKey: keys.platform.publicKey,
    platformSerialNo: keys.platform.serial,
    baseUrl: `${publicUrl}/wechatpay`,
    ...over,
  };
  return createWechatpayAdapter(credentials, {
    timeoutMs: 5_000,
    certificateRefreshIntervalMs: 60_000,
  });
}

interface PlatformView {
  signingSerialNo: string;
  serialNos: string[];
  downloads: number;
}

async function platform(method: 'GET' | 'POST', path = ''): Promise<PlatformView> {
  const response = await fetch(`${publicUrl}/control/wechatpay/platform-certificates${path}`, {
    method,
  });
  assert.equal(response.status, 200, `control answered ${response.status}`);
  return (await response.json()) as PlatformView;
}

/** A notification body signed by someone who names a serial WeChat Pay never issued. */
function unknownSerialNotification(serial: string) {
  const body = JSON.stringify({ id: `forged-${serial}`, event_type: 'TRANSACTION.SUCCESS' });
  const headers = signedHeaders(body, generateKeyPair().privateKey, serial, Date.now());
  return {
    rawBody: body,
    headers: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v])),
  };
}

const invalidSignature = (err: unknown) =>
  err instanceof DomainError && err.code === 'INVALID_SIGNATURE';

describe('wechatpay platform certificates', () => {
  it('issue 12: an answer signed by a rotated platform certificate is trusted after one download', async () => {
    const wechatpay = adapter();
    const before = await platform('GET');
    const rotated = await platform('POST', '/rotate');
    assert.notEqual(rotated.signingSerialNo, keys.platform.serial);
    assert.deepEqual(rotated.serialNos, [...before.serialNos, rotated.signingSerialNo]);

    // The query's answer is signed by the new certificate, which the adapter has never seen.
    const fact = await wechatpay.queryOrder('WXCERT000001');
    assert.equal(fact.status, 'NOT_FOUND');
    assert.equal((await platform('GET')).downloads, before.downloads + 1);
    // Now held: the next answers need no download.
    await wechatpay.queryOrder('WXCERT000002');
    assert.equal((await platform('GET')).downloads, before.downloads + 1);
  });

  it('issue 12: an unknown serial the download does not list is refused; repeats cause one download per interval', async () => {
    const wechatpay = adapter();
    const start = (await platform('GET')).downloads;
    const forged = unknownSerialNotification('0123456789ABCDEF0123456789ABCDEF');

    // Ten at once and ten more after: one download in all, every one refused.
    const verify = async (n: typeof forged) => {
      await wechatpay.prepareVerification?.(n);
      assert.throws(() => wechatpay.verifyNotification(n), invalidSignature);
    };
    await Promise.all(Array.from({ length: 10 }, () => verify(forged)));
    for (let i = 0; i < 10; i += 1) {
      await verify(unknownSerialNotification(`FORGED${String(i).padStart(26, '0')}`));
    }
    assert.equal((await platform('GET')).downloads, start + 1);
  });

  it('issue 12: after the interval an unknown serial may download again, never twice at once', async () => {
    let nowMs = 0;
    let downloads = 0;
    const held = new PlatformCertificates({
      seed: { serialNo: 'OLD', publicKey: 'old key' },
      download: async () => {
        downloads += 1;
        return new Map([['NEW', 'new key']]);
      },
      minRefreshIntervalMs: 60_000,
      now: () => nowMs,
    });
    await Promise.all([held.learn('NOPE'), held.learn('NOPE'), held.learn('NEW')]);
    assert.equal(downloads, 1);
    assert.equal(held.publicKeyOf('NEW'), 'new key');
    assert.equal(held.publicKeyOf('OLD'), 'old key');
    nowMs = 59_999;
    await held.learn('NOPE');
    assert.equal(downloads, 1);
    nowMs = 60_000;
    await held.learn('NOPE');
    assert.equal(downloads, 2);
    await held.learn('NEW');
    assert.equal(downloads, 2, 'a held serial needs no download');
  });
});
