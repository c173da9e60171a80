// Each real channel's identity and keys, from configuration, else (in test mode only) from the
// demo's generated keys. A channel with neither is simply not offered.
import type { Config } from '../config';
import type { ChannelKeys } from './keys';
import { productionGateways } from './modeRules';

export interface AlipayCredentials {
  appId: string;
  appPrivateKey: string;
  alipayPublicKey: string;
  gatewayUrl: string;
}

export interface WechatpayCredentials {
  mchId: string;
  appId: string;
  mchPrivateKey: string;
  mchSerialNo: string;
  apiV3Key: string;
  platformPublicKey: string;
  platformSerialNo: string;
  baseUrl: string;
}

export interface BankcardCredentials {
  merId: string;
  signPrivateKey: string;
  signCertId: string;
  verifyPublicKey: string;
  verifyCertId: string;
  gatewayUrl: string;
}

export interface ChannelCredentials {
  alipay?: AlipayCredentials;
  wechatpay?: WechatpayCredentials;
  bankcard?: BankcardCredentials;
}

/** Every value set in `configured`, or every one from `generated`; never a mix of the two. */
function pick<T extends object>(configured: Partial<T>, generated: T | undefined): T | undefined {
  const values = Object.values(configured);
  if (values.every((v) => v !== undefined)) return configured as T;
  return generated;
}

/**
 * The credentials of every channel this process offers. Live mode never takes generated keys, and
 * its gateways default to the channels' production addresses; test mode's, to the simulator's
 * faces.
 */
export function channelCredentials(config: Config, generated?: ChannelKeys): ChannelCredentials {
  const live = config.PAYCENTER_MODE === 'live';
  const keys = live ? undefined : generated;
  const gateway = (channel: keyof typeof productionGateways, simulatorPath: string) =>
    live ? productionGateways[channel] : `${config.simulatorUrl}${simulatorPath}`;
  const alipay = pick<Omit<AlipayCredentials, 'appId' | 'gatewayUrl'>>(
    { appPrivateKey: config.ALIPAY_APP_PRIVATE_KEY, alipayPublicKey: config.ALIPAY_PUBLIC_KEY },
    keys && {
      appPrivateKey: keys.alipay.app.privateKey,
      alipayPublicKey: keys.alipay.platform.publicKey,
    },
  );
  const wechatpay = pick<Omit<WechatpayCredentials, 'mchId' | 'appId' | 'baseUrl'>>(
    {
      mchPrivateKey: config.WECHATPAY_MCH_PRIVATE_KEY,
      mchSerialNo: config.WECHATPAY_MCH_SERIAL_NO,
      apiV3Key: config.WECHATPAY_API_V3_KEY,
      platformPublicKey: config.WECHATPAY_PLATFORM_PUBLIC_KEY,
      platformSerialNo: config.WECHATPAY_PLATFORM_SERIAL_NO,
    },
    keys && {
      mchPrivateKey: keys.wechatpay.merchant.privateKey,
      mchSerialNo: keys.wechatpay.merchant.serial,
      apiV3Key: keys.wechatpay.apiV3Key,
      platformPublicKey: keys.wechatpay.platform.publicKey,
      platformSerialNo: keys.wechatpay.platform.serial,
    },
  );
  const bankcard = pick<Omit<BankcardCredentials, 'merId' | 'gatewayUrl'>>(
    {
      signPrivateKey: config.BANKCARD_SIGN_PRIVATE_KEY,
      signCertId: config.BANKCARD_SIGN_CERT_ID,
      verifyPublicKey: config.BANKCARD_VERIFY_PUBLIC_KEY,
      verifyCertId: config.BANKCARD_VERIFY_CERT_ID,
    },
    keys && {
      signPrivateKey: keys.bankcard.merchant.privateKey,
      signCertId: keys.bankcard.merchant.serial,
      verifyPublicKey: keys.bankcard.platform.publicKey,
      verifyCertId: keys.bankcard.platform.serial,
    },
  );
  return {
    ...(alipay && {
      alipay: {
        ...alipay,
        appId: config.ALIPAY_APP_ID,
        gatewayUrl: config.ALIPAY_GATEWAY_URL ?? gateway('alipay', '/alipay/gateway.do'),
      },
    }),
    ...(wechatpay && {
      wechatpay: {
        ...wechatpay,
        mchId: config.WECHATPAY_MCH_ID,
        appId: config.WECHATPAY_APP_ID,
        baseUrl: config.WECHATPAY_BASE_URL ?? gateway('wechatpay', '/wechatpay'),
      },
    }),
    ...(bankcard && {
      bankcard: {
        ...bankcard,
        merId: config.BANKCARD_MER_ID,
        gatewayUrl: config.BANKCARD_GATEWAY_URL ?? gateway('bankcard', '/bankcard'),
      },
    }),
  };
}
