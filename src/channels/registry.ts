// The channels this deployment speaks, by name.
import type { Config } from '../config';
import { DomainError } from '../domain/errors';
import { currencies, type Currency } from '../domain/money';
import { createAlipayAdapter } from './alipay/adapter';
import { createBankcardAdapter } from './bankcard/adapter';
import type { ChannelCredentials } from './credentials';
import { createSandboxAdapter } from './sandbox/adapter';
import type { ChannelAdapter } from './types';
import { createWechatpayAdapter } from './wechatpay/adapter';

export type ChannelRegistry = ReadonlyMap<string, ChannelAdapter>;

/** The sandbox channel in test mode only; each real channel whose credentials are known. */
export function createChannels(
  config: Config,
  credentials: ChannelCredentials = {},
): ChannelRegistry {
  const timeout = { timeoutMs: config.CHANNEL_TIMEOUT_MS };
  const adapters: ChannelAdapter[] = [];
  if (config.PAYCENTER_MODE === 'test') {
    adapters.push(
      createSandboxAdapter({
        baseUrl: config.simulatorUrl,
        appId: config.SANDBOX_APP_ID,
        secret: config.SANDBOX_SECRET,
        currencies: config.SANDBOX_CURRENCIES,
        ...timeout,
      }),
    );
  }
  if (credentials.alipay) adapters.push(createAlipayAdapter(credentials.alipay, timeout));
  if (credentials.wechatpay) {
    adapters.push(
      createWechatpayAdapter(credentials.wechatpay, {
        ...timeout,
        certificateRefreshIntervalMs: config.WECHATPAY_CERTIFICATE_REFRESH_SECONDS * 1000,
      }),
    );
  }
  if (credentials.bankcard) adapters.push(createBankcardAdapter(credentials.bankcard, timeout));
  return new Map(adapters.map((adapter) => [adapter.name, adapter]));
}

/** Every currency some channel of this deployment takes, in paycenter's order of currencies. */
export function acceptedCurrencies(channels: ChannelRegistry): Currency[] {
  const taken = new Set([...channels.values()].flatMap((channel) => channel.currencies));
  return currencies.filter((currency) => taken.has(currency));
}

export function channelOrThrow(channels: ChannelRegistry, name: string): ChannelAdapter {
  const channel = channels.get(name);
  if (!channel) {
    throw new DomainError('UNSUPPORTED_CHANNEL', `channel "${name}" is not available`, [
      { field: 'channel', message: `must be one of: ${[...channels.keys()].join(', ')}` },
    ]);
  }
  return channel;
}
