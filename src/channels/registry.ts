// The channels this deployment speaks, by name.
import type { Config } from '../config';
import { DomainError } from '../domain/errors';
import { createSandboxAdapter } from './sandbox/adapter';
import type { ChannelAdapter } from './types';

export type ChannelRegistry = ReadonlyMap<string, ChannelAdapter>;

export function createChannels(config: Config): ChannelRegistry {
  const sandbox = createSandboxAdapter({
    baseUrl: config.sandboxUrl,
    appId: config.SANDBOX_APP_ID,
    secret: config.SANDBOX_SECRET,
    timeoutMs: config.CHANNEL_TIMEOUT_MS,
  });
  return new Map([[sandbox.name, sandbox]]);
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
