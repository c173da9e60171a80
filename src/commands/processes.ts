// What every long-running command (`all`, `api`, `worker`, `simulator`, `migrate`) does around its
// parts: resolves the keys once, sends Temporal's logs through ours, and stops what it started, in
// reverse order, on SIGINT/SIGTERM or when starting fails.
import path from 'node:path';
import type { Logger } from 'pino';
import { ConfigError, type Config } from '../config';
import {
  ensureDatabaseExists,
  isPortOpen,
  openPglite,
  openConfiguredPostgres,
  type Database,
} from '../db/client';
import { resolveKeys } from '../keyStore';
import { ensureTemporalRuntime, type Stoppable } from '../system';

/** A command: its configuration, logger and the arguments after its name. */
export type Command = (config: Config, log: Logger, args: string[]) => Promise<void>;

/**
 * The configured database, else the local PostgreSQL (its `paycenter` database, made when
 * missing), else, where `allowEmbedded`, PGlite in DATA_DIR.
 */
export async function openDatabase(
  config: Config,
  log: Logger,
  allowEmbedded: boolean,
): Promise<Database> {
  if (config.DATABASE_URL) return openConfiguredPostgres(config, config.DATABASE_URL);
  if (await isPortOpen('127.0.0.1', 5432)) {
    const url = 'postgres://postgres@127.0.0.1:5432/paycenter';
    await ensureDatabaseExists(url);
    return openConfiguredPostgres(config, url);
  }
  if (!allowEmbedded) {
    throw new ConfigError('DATABASE_URL is required: no PostgreSQL answers on 127.0.0.1:5432');
  }
  log.warn('no DATABASE_URL and no PostgreSQL on localhost: using embedded PGlite');
  return openPglite(path.join(config.DATA_DIR, 'pglite'));
}

/** The channel simulator serves test mode only: a live deployment never runs it. */
export function refuseInLiveMode(command: 'all' | 'cluster' | 'simulator', config: Config): void {
  if (config.PAYCENTER_MODE !== 'live') return;
  throw new ConfigError(
    `"${command}" runs the channel simulator, which serves test mode only; a live deployment ` +
      'runs `migrate`, then `worker` and `api` against its Temporal cluster',
  );
}

export interface Processes {
  /** The configuration, carrying the secret key that seals notify secrets. */
  config: Config;
  /** The demo merchant's API key (test mode) and the built-in operator's key, if any. */
  demoApiKey?: string;
  opsApiKey?: string;
  /** Keeps a started part, to stop it with the others. */
  keep: (part: Stoppable) => void;
  /** Opens the database (see openDatabase) and keeps it, to close it last. */
  openDatabase: (allowEmbedded: boolean) => Promise<Database>;
  stopAll: () => Promise<void>;
}

/** Runs `start` with the process's keys and parts; the process lives on while its parts do. */
export async function runProcesses(
  configured: Config,
  log: Logger,
  start: (processes: Processes) => Promise<void>,
): Promise<void> {
  // Made here, once, so that processes sharing DATA_DIR never race to make different keys.
  const { config, demoApiKey, opsApiKey } = resolveKeys(configured);
  await ensureTemporalRuntime(log, config);
  const running: Stoppable[] = [];
  const stopAll = async () => {
    for (const part of running.reverse())
      await part.stop().catch((err) => log.error({ err }, 'stop failed'));
  };
  process.once('SIGINT', () => void stopAll().then(() => process.exit(0)));
  process.once('SIGTERM', () => void stopAll().then(() => process.exit(0)));

  try {
    await start({
      config,
      demoApiKey,
      opsApiKey,
      keep: (part) => void running.push(part),
      async openDatabase(allowEmbedded) {
        const db = await openDatabase(config, log, allowEmbedded);
        running.push({ stop: () => db.close() });
        return db;
      },
      stopAll,
    });
  } catch (err) {
    await stopAll();
    throw err;
  }
}
