// Every channel face the simulator runs, with the channels' side of each channel's keys.
import type { ChannelKeys } from '../../src/channels/keys';
import type { Journal } from '../journal';
import type { ChannelFace } from '../server';
import { alipayFace } from './alipay';
import { bankcardFace } from './bankcard';
import { sandboxFace } from './sandbox';
import { wechatpayFace } from './wechatpay';

/**
 * What the faces are told: each channel's merchant (app) ID and notification retry schedule, and
 * where the simulator is reached. Named as paycenter's configuration names them, so the process
 * wiring hands its configuration over as it is.
 */
export interface FaceSettings {
  simulatorUrl: string;
  SANDBOX_APP_ID: string;
  SANDBOX_SECRET: string;
  SIMULATOR_NOTIFY_RETRY_SECONDS: number[];
  ALIPAY_APP_ID: string;
  ALIPAY_NOTIFY_RETRY_SECONDS: number[];
  WECHATPAY_MCH_ID: string;
  WECHATPAY_APP_ID: string;
  WECHATPAY_NOTIFY_RETRY_SECONDS: number[];
  BANKCARD_MER_ID: string;
  BANKCARD_NOTIFY_RETRY_SECONDS: number[];
}

/**
 * Without keys only the `sandbox` channel runs: the real channels' faces need key pairs. A face
 * that keeps records of its own keeps them in the engine's journal.
 */
export function simulatorFaces(
  config: FaceSettings,
  keys?: ChannelKeys,
  journal?: Journal,
): ChannelFace[] {
  const faces = [
    sandboxFace({
      appId: config.SANDBOX_APP_ID,
      secret: config.SANDBOX_SECRET,
      retrySeconds: config.SIMULATOR_NOTIFY_RETRY_SECONDS,
    }),
  ];
  if (!keys) return faces;
  const publicUrl = config.simulatorUrl;
  faces.push(
    alipayFace({
      appId: config.ALIPAY_APP_ID,
      appPublicKey: keys.alipay.app.publicKey,
      alipayPrivateKey: keys.alipay.platform.privateKey,
      retrySeconds: config.ALIPAY_NOTIFY_RETRY_SECONDS,
      publicUrl,
    }),
    wechatpayFace({
      mchId: config.WECHATPAY_MCH_ID,
      appId: config.WECHATPAY_APP_ID,
      mchPublicKey: keys.wechatpay.merchant.publicKey,
      mchSerialNo: keys.wechatpay.merchant.serial,
      apiV3Key: keys.wechatpay.apiV3Key,
      platformPrivateKey: keys.wechatpay.platform.privateKey,
      platformSerialNo: keys.wechatpay.platform.serial,
      retrySeconds: config.WECHATPAY_NOTIFY_RETRY_SECONDS,
      publicUrl,
    }),
    bankcardFace({
      merId: config.BANKCARD_MER_ID,
      merchantPublicKey: keys.bankcard.merchant.publicKey,
      merchantCertId: keys.bankcard.merchant.serial,
      platformPrivateKey: keys.bankcard.platform.privateKey,
      platformCertId: keys.bankcard.platform.serial,
      retrySeconds: config.BANKCARD_NOTIFY_RETRY_SECONDS,
      publicUrl,
      journal,
    }),
  );
  return faces;
}
