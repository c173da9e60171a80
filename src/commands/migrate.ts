// `migrate`: brings the database to today's schema, claims it for this deployment's mode and seals
// notify secrets stored in plain text; in test mode it also makes the demo's channel keys.
import type { Logger } from 'pino';
import type { Config } from '../config';
import { ensureDatabaseExists, type Database } from '../db/client';
import { demoChannelKeys } from '../keyStore';
import { claimDatabaseMode } from '../services/deploymentMode';
import { sealPlainNotifySecrets } from '../services/notifySecrets';
import { notifySecretBox } from '../system';
import { runProcesses } from './processes';

export async function migrateCommand(configured: Config, log: Logger): Promise<void> {
  await runProcesses(configured, log, async ({ config, openDatabase, stopAll }) => {
    // `migrate` makes the configured database when it is missing (live mode's, next to test's).
    if (config.DATABASE_URL) await ensureDatabaseExists(config.DATABASE_URL);
    const db = await openDatabase(true);
    await migrateDatabase(db, config, log);
    // Made here, once, so that processes sharing DATA_DIR never race to make different keys.
    demoChannelKeys(config);
    await stopAll();
  });
}

/** What `migrate` and `all` do to the database before anything uses it. */
export async function migrateDatabase(db: Database, config: Config, log: Logger): Promise<void> {
  await db.migrate();
  await claimDatabaseMode(db.db, config.PAYCENTER_MODE);
  const sealed = await sealPlainNotifySecrets(db.db, notifySecretBox(config));
  log.info({ database: db.location, sealedNotifySecrets: sealed }, 'database migrated');
}
