// `ops-key create --name <name>` prints a new named ops key once; `ops-key revoke --id <opk_…>`
// stops one at once. Both need only the database; the audit log records them under
// `cli:<user of this machine>`.
import type { Logger } from 'pino';
import { ConfigError, type Config } from '../config';
import { operatorNameSchema } from '../domain/schemas';
import { claimDatabaseMode } from '../services/deploymentMode';
import { createOperatorKey, revokeOperatorKey } from '../services/operators';
import { asUsageError, cliOperator, parseCommandArgs } from './arguments';
import { openDatabase } from './processes';

export async function opsKeyCommand(config: Config, log: Logger, args: string[]): Promise<void> {
  const usage = 'usage: ops-key create --name <name> | ops-key revoke --id <opk_…>';
  const { values, positionals } = parseCommandArgs('ops-key', {
    args,
    options: { name: { type: 'string' }, id: { type: 'string' } },
    allowPositionals: true,
    strict: true,
  });
  const action = positionals.length === 1 ? positionals[0] : undefined;
  if (action !== 'create' && action !== 'revoke') throw new ConfigError(usage);
  const name = operatorNameSchema.safeParse(values.name ?? '');
  if (action === 'create' && !name.success) {
    throw new ConfigError(`--name ${name.error.issues[0]!.message}; ${usage}`);
  }
  if (action === 'revoke' && !/^opk_[0-9A-Z]{26}$/.test(values.id ?? '')) {
    throw new ConfigError(`--id must be an ops key ID (opk_…); ${usage}`);
  }
  const actor = cliOperator();
  const db = await openDatabase(config, log, false);
  try {
    await claimDatabaseMode(db.db, config.PAYCENTER_MODE);
    if (action === 'create') {
      const key = await createOperatorKey(db.db, { name: name.data! }, actor);
      console.log(
        [
          `Operator:    ${key.name}`,
          `Ops key ID:  ${key.id}`,
          `Ops key:     ${key.key}`,
          'The ops key is shown only now; keep it safe.',
        ].join('\n'),
      );
    } else {
      const key = await revokeOperatorKey(db.db, values.id!, actor);
      console.log(`Revoked ops key ${key.id} of ${key.name} at ${key.revokedAt}`);
    }
  } catch (err) {
    throw asUsageError(err);
  } finally {
    await db.close();
  }
}
