// `merchant create --name <name>`: a new merchant with its first API key; needs only the database.
import type { Logger } from 'pino';
import { ConfigError, type Config } from '../config';
import { resolveKeys } from '../keyStore';
import { claimDatabaseMode } from '../services/deploymentMode';
import { createMerchantAs } from '../services/operators';
import { notifySecretBox } from '../system';
import { cliOperator, parseCommandArgs } from './arguments';
import { openDatabase } from './processes';

/** Prints the new merchant's ID, API key and notify secret once. */
export async function merchantCommand(config: Config, log: Logger, args: string[]): Promise<void> {
  const usage = 'usage: merchant create --name <name>';
  const { values, positionals } = parseCommandArgs('merchant', {
    args,
    options: { name: { type: 'string' } },
    allowPositionals: true,
    strict: true,
  });
  if (positionals.length !== 1 || positionals[0] !== 'create') throw new ConfigError(usage);
  const name = values.name?.trim() ?? '';
  if (name === '' || name.length > 128) {
    throw new ConfigError(`--name must be 1-128 characters; ${usage}`);
  }
  const db = await openDatabase(config, log, false);
  try {
    await claimDatabaseMode(db.db, config.PAYCENTER_MODE);
    const secretBox = notifySecretBox(resolveKeys(config).config);
    const { merchant, apiKey, notifySecret } = await createMerchantAs(
      db.db,
      secretBox,
      { name },
      config.PAYCENTER_MODE,
      cliOperator(),
    );
    console.log(
      [
        `Merchant ID:    ${merchant.id}`,
        `API key:        ${apiKey.key}`,
        `Notify secret:  ${notifySecret}`,
        'The API key and the notify secret are shown only now; keep them safe.',
      ].join('\n'),
    );
  } finally {
    await db.close();
  }
}
