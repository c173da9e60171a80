// Command line entry: `all` (the whole system in one process, for `npm start`), or one part:
// `api`, `worker`, `sandbox`, `migrate` (for docker-compose and real deployments), and
// `merchant create --name <name>` (a new merchant with its first API key; needs only the database),
// `ops-key create --name <name>` / `ops-key revoke --id <opk_…>` (named ops keys; the database only),
// and `reconcile --channel <channel> --day <yyyy-MM-dd>` (runs a day's reconciliation on the worker).
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { userInfo } from 'node:os';
import { parseArgs } from 'node:util';
import { execFileSync } from 'node:child_process';
import type { Logger } from 'pino';
import { ConfigError, loadConfig, type Config } from './config';
import { DomainError } from './domain/errors';
import { apiKeyPrefix } from './domain/modes';
import { formatReport } from './domain/reconciliation';
import { operatorNameSchema, reconcileRequestSchema } from './domain/schemas';
import { createMerchantAs, createOperatorKey, revokeOperatorKey } from './services/operators';
import { runReconciliation } from './services/reconciliations';
import { ensureSchedules } from './schedules';
import {
  ensureDatabaseExists,
  isPortOpen,
  openPglite,
  openPostgres,
  type Database,
} from './db/client';
import { ensureSearchAttributes, startTemporalDevServer, walPragmas } from './dev/temporal';
import { channelCredentials } from './channels/credentials';
import { loadOrCreateChannelKeys, type ChannelKeys } from './channels/keys';
import { writeDataFile } from './dataDir';
import { createLogger } from './log';
import { demoMerchantId, ensureMerchant, generateSecret } from './services/merchants';
import { claimDatabaseMode } from './services/deploymentMode';
import { sealPlainNotifySecrets } from './services/notifySecrets';
import { generateSecretKey, parseSecretKey } from './services/secretBox';
import {
  connectClient,
  createChannels,
  installTemporalLogger,
  notifySecretBox,
  startApi,
  startSandbox,
  startWorker,
  type Stoppable,
} from './system';

type Command =
  'all' | 'api' | 'worker' | 'sandbox' | 'migrate' | 'merchant' | 'ops-key' | 'reconcile';
const commands: Command[] = [
  'all',
  'api',
  'worker',
  'sandbox',
  'migrate',
  'merchant',
  'ops-key',
  'reconcile',
];

async function openDatabase(
  config: Config,
  log: Logger,
  allowEmbedded: boolean,
): Promise<Database> {
  if (config.DATABASE_URL) return openPostgres(config.DATABASE_URL, config.DATABASE_POOL_SIZE);
  if (await isPortOpen('127.0.0.1', 5432)) {
    const url = 'postgres://postgres@127.0.0.1:5432/paycenter';
    await ensureDatabaseExists(url);
    return openPostgres(url, config.DATABASE_POOL_SIZE);
  }
  if (!allowEmbedded) {
    throw new ConfigError('DATABASE_URL is required: no PostgreSQL answers on 127.0.0.1:5432');
  }
  log.warn('no DATABASE_URL and no PostgreSQL on localhost: using embedded PGlite');
  return openPglite(path.join(config.DATA_DIR, 'pglite'));
}

/**
 * The demo's channel key pairs (both sides), generated on the first start and kept in DATA_DIR;
 * configured credentials take precedence channel by channel (src/channels/credentials.ts). Live
 * mode has none: its channels' keys are all configured.
 */
function channelKeys(config: Config): ChannelKeys | undefined {
  if (config.PAYCENTER_MODE === 'live') return undefined;
  const file = path.join(config.DATA_DIR, 'channel-keys.json');
  const { keys, created } = loadOrCreateChannelKeys(file);
  if (created)
    console.log(`Generated demo key pairs for alipay, wechatpay and bankcard in ${file}`);
  return keys;
}

/**
 * Keys from the environment, else (test mode only) the ones generated on the first start, kept in
 * DATA_DIR; the configuration answered carries the secret key that seals notify secrets. Live mode
 * has no demo merchant, and a built-in operator only when PAYCENTER_OPS_API_KEY is set.
 */
function resolveKeys(config: Config): {
  demoApiKey?: string;
  opsApiKey?: string;
  config: Config;
} {
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

function findTemporalCli(config: Config): string | undefined {
  if (config.TEMPORAL_CLI) return config.TEMPORAL_CLI;
  try {
    return execFileSync('bash', [path.resolve(__dirname, '../scripts/temporal-cli.sh')], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    }).trim();
  } catch {
    return undefined; // no CLI and no Go: the SDK downloads the dev server instead
  }
}

/** Whom the audit log records for the command line: the user of this machine. */
function cliOperator(): string {
  return `cli:${userInfo().username}`;
}

/** `merchant create --name <name>`: prints the new merchant's ID, API key and notify secret once. */
async function merchantCommand(config: Config, log: Logger, args: string[]): Promise<void> {
  const usage = 'usage: merchant create --name <name>';
  const { values, positionals } = parseArgs({
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

/**
 * `ops-key create --name <name>` prints a new named ops key once; `ops-key revoke --id <id>` stops
 * one at once. The audit log records both under `cli:<user of this machine>`.
 */
async function opsKeyCommand(config: Config, log: Logger, args: string[]): Promise<void> {
  const usage = 'usage: ops-key create --name <name> | ops-key revoke --id <opk_…>';
  const { values, positionals } = parseArgs({
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
    if (err instanceof DomainError) throw new ConfigError(`${err.code}: ${err.message}`);
    throw err;
  } finally {
    await db.close();
  }
}

/** `reconcile --channel <c> --day <d>`: runs the day on the running worker and prints its report. */
async function reconcileCommand(config: Config, _log: Logger, args: string[]): Promise<void> {
  const usage = 'usage: reconcile --channel <channel> --day <yyyy-MM-dd> [--json]';
  const { values } = parseArgs({
    args,
    options: {
      channel: { type: 'string' },
      day: { type: 'string' },
      json: { type: 'boolean', default: false },
    },
    strict: true,
  });
  const request = reconcileRequestSchema.safeParse({ channel: values.channel, day: values.day });
  if (!request.success) {
    const problems = request.error.issues.map((i) => `--${i.path.join('.')} ${i.message}`);
    throw new ConfigError(`${problems.join('; ')}; ${usage}`);
  }
  const address = config.TEMPORAL_ADDRESS ?? `127.0.0.1:${config.TEMPORAL_PORT}`;
  const { client, connection } = await connectClient(config, address);
  try {
    const deps = {
      temporal: client,
      taskQueue: config.TEMPORAL_TASK_QUEUE,
      channels: createChannels(config, channelCredentials(config, channelKeys(config))),
      timeZone: config.RECONCILE_TIME_ZONE,
    };
    const report = await runReconciliation(deps, request.data);
    console.log(values.json ? JSON.stringify(report, null, 2) : formatReport(report));
  } catch (err) {
    if (err instanceof DomainError) throw new ConfigError(`${err.code}: ${err.message}`);
    throw err;
  } finally {
    await connection.close();
  }
}

async function main() {
  const command = (process.argv[2] ?? 'all') as Command;
  if (!commands.includes(command)) {
    throw new ConfigError(`unknown command "${command}"; use one of: ${commands.join(', ')}`);
  }
  const configured = loadConfig();
  const log = createLogger(configured.LOG_LEVEL);
  const offline = {
    merchant: merchantCommand,
    'ops-key': opsKeyCommand,
    reconcile: reconcileCommand,
  } as const;
  if (command === 'merchant' || command === 'ops-key' || command === 'reconcile') {
    try {
      return await offline[command](configured, log, process.argv.slice(3));
    } catch (err) {
      // parseArgs' own errors (unknown option, missing value) are usage errors too
      if (err instanceof Error && 'code' in err && String(err.code).startsWith('ERR_PARSE_ARGS')) {
        throw new ConfigError(`${err.message} (${command})`);
      }
      throw err;
    }
  }
  if (configured.PAYCENTER_MODE === 'live' && (command === 'all' || command === 'sandbox')) {
    throw new ConfigError(
      `"${command}" runs the sandbox channel, which serves test mode only; a live deployment ` +
        'runs `migrate`, then `worker` and `api` against its Temporal cluster',
    );
  }
  // Made here, once, so that processes sharing DATA_DIR never race to make different keys.
  const apiKeys = resolveKeys(configured);
  const config = apiKeys.config;
  installTemporalLogger(log);
  const running: Stoppable[] = [];
  const stopAll = async () => {
    for (const part of running.reverse())
      await part.stop().catch((err) => log.error({ err }, 'stop failed'));
  };
  process.once('SIGINT', () => void stopAll().then(() => process.exit(0)));
  process.once('SIGTERM', () => void stopAll().then(() => process.exit(0)));

  try {
    if (command === 'sandbox') {
      const sandbox = await startSandbox(config, log, channelKeys(config));
      running.push(sandbox);
      log.info({ url: sandbox.url }, 'sandbox channel listening');
      return;
    }

    // `migrate` makes the configured database when it is missing (live mode's, next to test's).
    if (command === 'migrate' && config.DATABASE_URL)
      await ensureDatabaseExists(config.DATABASE_URL);
    const db = await openDatabase(config, log, command === 'all' || command === 'migrate');
    running.push({ stop: () => db.close() });
    if (command === 'migrate' || command === 'all') {
      await db.migrate();
      await claimDatabaseMode(db.db, config.PAYCENTER_MODE);
      const sealed = await sealPlainNotifySecrets(db.db, notifySecretBox(config));
      log.info({ database: db.location, sealedNotifySecrets: sealed }, 'database migrated');
      if (command === 'migrate') {
        // Made here, once, so that processes sharing DATA_DIR never race to make different keys.
        channelKeys(config);
        return stopAll();
      }
    }

    let temporalAddress = config.TEMPORAL_ADDRESS;
    if (!temporalAddress && command === 'all') {
      const server = await startTemporalDevServer({
        cliPath: findTemporalCli(config),
        port: config.TEMPORAL_PORT,
        uiPort: config.TEMPORAL_UI_PORT,
        dbFilename: path.join(config.DATA_DIR, 'temporal.sqlite'),
        sqlitePragmas: walPragmas,
        namespace: config.TEMPORAL_NAMESPACE,
      });
      running.push(server);
      temporalAddress = server.address;
    }
    temporalAddress ??= `127.0.0.1:${config.TEMPORAL_PORT}`;
    if (config.TEMPORAL_ADDRESS) {
      const { connection } = await connectClient(config, temporalAddress);
      await ensureSearchAttributes(connection, config.TEMPORAL_NAMESPACE);
      await connection.close();
    }

    const keys = channelKeys(config);
    const channels = createChannels(config, channelCredentials(config, keys));
    if (apiKeys.demoApiKey) {
      await ensureMerchant(
        db.db,
        { id: demoMerchantId, name: 'Demo merchant' },
        apiKeys.demoApiKey,
        notifySecretBox(config),
      );
    }

    if (command === 'all') running.push(await startSandbox(config, log, keys));
    if (command === 'all' || command === 'worker') {
      running.push(await startWorker(config, { db, channels, temporalAddress, log }));
      const { client, connection } = await connectClient(config, temporalAddress);
      await ensureSchedules(client, config, [...channels.keys()]);
      await connection.close();
    }
    if (command === 'all' || command === 'api') {
      running.push(
        await startApi(config, { db, channels, temporalAddress, opsKey: apiKeys.opsApiKey, log }),
      );
    }
    const lines = [
      `paycenter (${command}, ${config.PAYCENTER_MODE} mode) is up`,
      command === 'worker'
        ? undefined
        : `  API             ${config.publicApiUrl}   (GET /healthz)`,
      command === 'all' ? `  Sandbox channel ${config.sandboxUrl}` : undefined,
      `  Temporal        ${temporalAddress}`,
      config.TEMPORAL_ADDRESS
        ? undefined
        : `  Temporal UI     http://localhost:${config.TEMPORAL_UI_PORT}`,
      `  Database        ${db.location}`,
      apiKeys.demoApiKey && `  Demo merchant API key: ${apiKeys.demoApiKey}`,
      apiKeys.opsApiKey && `  Ops API key:           ${apiKeys.opsApiKey}`,
    ];
    console.log(lines.filter(Boolean).join('\n'));
  } catch (err) {
    await stopAll();
    throw err;
  }
}

main().catch((err) => {
  console.error(err instanceof ConfigError ? err.message : err);
  process.exit(1);
});
