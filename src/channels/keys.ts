// RSA key material for the channels' signatures. In production every key comes from configuration;
// for the single-process demo and the tests, generated pairs stand in for both sides.
import { createHash, generateKeyPairSync } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { writeDataFile } from '../dataDir';

export interface KeyPair {
  /** PKCS#8 PEM */
  privateKey: string;
  /** SPKI PEM */
  publicKey: string;
  /** What the channel calls this key: Alipay cert SN, WeChat Pay serial_no, ACP certId. */
  serial: string;
}

/** Both sides of every channel: ours (merchant/app) and the channel's (platform). */
export interface ChannelKeys {
  alipay: { app: KeyPair; platform: KeyPair };
  wechatpay: { merchant: KeyPair; platform: KeyPair; apiV3Key: string };
  bankcard: { merchant: KeyPair; platform: KeyPair };
}

export function generateKeyPair(): KeyPair {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  });
  const serial = createHash('sha256').update(publicKey).digest('hex').slice(0, 32).toUpperCase();
  return { privateKey, publicKey, serial };
}

export function generateChannelKeys(): ChannelKeys {
  return {
    alipay: { app: generateKeyPair(), platform: generateKeyPair() },
    wechatpay: {
      merchant: generateKeyPair(),
      platform: generateKeyPair(),
      apiV3Key: createHash('sha256')
        .update(generateKeyPair().privateKey)
        .digest('hex')
        .slice(0, 32),
    },
    bankcard: { merchant: generateKeyPair(), platform: generateKeyPair() },
  };
}

/** The demo's keys: generated on the first start, then read back, so restarts keep them. */
export function loadOrCreateChannelKeys(file: string): { keys: ChannelKeys; created: boolean } {
  if (existsSync(file)) {
    return { keys: JSON.parse(readFileSync(file, 'utf8')) as ChannelKeys, created: false };
  }
  const keys = generateChannelKeys();
  writeDataFile(file, JSON.stringify(keys, null, 2));
  return { keys, created: true };
}
