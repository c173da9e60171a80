// The keys a test-mode deployment keeps in DATA_DIR, and the only module that reads or writes them:
// keys.json (the demo merchant's API key, the built-in ops key, the secret key that seals notify
// secrets) and channel-keys.json (the demo's channel key pairs, shared with the simulator). Every
// process started on the folder shares them, and any of them may be killed at any moment: each file
// is written whole or not at all, so that a reader never sees half of one.
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Config } from './config';
import { generateChannelKeys, type ChannelKeys } from './channels/keys';
import { apiKeyPrefix } from './domain/modes';
import { generateSecret } from './services/merchants';
import { generateSecretKey, parseSecretKey } from './services/secretBox';

/** Writes a file under a temporary name and renames it into place (atomic on one file system). */
function writeDataFile(file: string, text: string): void {
  const staging = `${file}.${process.pid}.tmp`;
  writeFileSync(staging, text, { mode: 0o600 });
  renameSync(staging, file);
}

/** The keys a process serves with, and its configuration carrying the notify secrets' key. */
export interface ResolvedKeys {
  demoApiKey?: string;
  opsApiKey?: string;
  config: Config;
}

/**
 * Keys from the environment, else (test mode only) the ones generated on the first start, kept in
 * DATA_DIR; the configuration answered carries the secret key that seals notify secrets. Live mode
 * has no demo merchant, and a built-in operator only when PAYCENTER_OPS_API_KEY is set.
 */
export function resolveKeys(config: Config): ResolvedKeys {
  if (config.PAYCENTER_MODE === 'live') return { opsApiKey: config.PAYCENTER_OPS_API_KEY, config };
  mkdirSync(config.DATA_DIR, { recursive: true });
  const file = path.join(config.DATA_DIR, 'keys.json');
  const written = existsSync(file) ? readFileSync(file, 'utf8') : undefined;
  const stored: { demoApiKey?: string; opsApiKey?: string; secretKey?: string } =
    written === undefined ? {} : (JSON.parse(written) as typeof stored);
  const keys = {
    demoApiKey:
      config.PAYCENTER_DEMO_API_KEY ?? stored.demoApiKey ?? generateSecret(apiKeyPrefix('test')),
    opsApiKey: config.PAYCENTER_OPS_API_KEY ?? stored.opsApiKey ?? generateSecret('ops'),
  };
  // A configured secret key is never written down; a generated one must be, or secrets are lost.
  const secretKey = config.PAYCENTER_SECRET_KEY
    ? undefined
    : (stored.secretKey ?? generateSecretKey());
  const kept = JSON.stringify({ ...stored, ...keys, ...(secretKey ? { secretKey } : {}) }, null, 2);
  // Written only when something is new: every other start only reads it, as may one beside it.
  if (written !== kept) writeDataFile(file, kept);
  const keyed: Config = {
    ...config,
    PAYCENTER_SECRET_KEY: config.PAYCENTER_SECRET_KEY ?? parseSecretKey(secretKey!),
  };
  return { ...keys, config: keyed };
}

/** The demo's channel keys in `dataDir`: generated on the first start, then read back. */
export function loadOrCreateChannelKeys(dataDir: string): {
  keys: ChannelKeys;
  created: boolean;
  file: string;
} {
  const file = path.join(dataDir, 'channel-keys.json');
  if (existsSync(file)) {
    return { keys: JSON.parse(readFileSync(file, 'utf8')) as ChannelKeys, created: false, file };
  }
  const keys = generateChannelKeys();
  writeDataFile(file, JSON.stringify(keys, null, 2));
  return { keys, created: true, file };
}

/**
 * The demo's channel key pairs (both sides), generated on the first start and kept in DATA_DIR;
 * configured credentials take precedence channel by channel (src/channels/credentials.ts). Live
 * mode has none: its channels' keys are all configured.
 */
export function demoChannelKeys(config: Config): ChannelKeys | undefined {
  if (config.PAYCENTER_MODE === 'live') return undefined;
  const { keys, created, file } = loadOrCreateChannelKeys(config.DATA_DIR);
  if (created)
    console.log(`Generated demo key pairs for alipay, wechatpay and bankcard in ${file}`);
  return keys;
}
