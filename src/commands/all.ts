// `all`: the whole system in one process, for `npm start`: the database (PostgreSQL, else embedded
// PGlite) migrated, a Temporal dev server unless TEMPORAL_ADDRESS names a cluster, the channel
// simulator, the worker and the API. Test mode only.
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import type { Logger } from 'pino';
import type { Config } from '../config';
import { startTemporalDevServer, walPragmas } from '../dev/temporal';
import { startApi, startSimulator } from '../system';
import { migrateDatabase } from './migrate';
import { refuseInLiveMode, runProcesses } from './processes';
import { announce, prepareServing, startWorkerWithSchedules } from './serving';

function findTemporalCli(config: Config): string | undefined {
  if (config.TEMPORAL_CLI) return config.TEMPORAL_CLI;
  try {
    return execFileSync('bash', [path.resolve(__dirname, '../../scripts/temporal-cli.sh')], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    }).trim();
  } catch {
    return undefined; // no CLI and no Go: the SDK downloads the dev server instead
  }
}

export async function allCommand(configured: Config, log: Logger): Promise<void> {
  refuseInLiveMode('all', configured);
  await runProcesses(configured, log, async (processes) => {
    const { config, opsApiKey, keep } = processes;
    const db = await processes.openDatabase(true);
    await migrateDatabase(db, config, log);

    let temporalAddress = config.TEMPORAL_ADDRESS;
    if (!temporalAddress) {
      const server = await startTemporalDevServer({
        cliPath: findTemporalCli(config),
        port: config.TEMPORAL_PORT,
        uiPort: config.TEMPORAL_UI_PORT,
        dbFilename: path.join(config.DATA_DIR, 'temporal.sqlite'),
        sqlitePragmas: walPragmas,
        namespace: config.TEMPORAL_NAMESPACE,
      });
      keep(server);
      temporalAddress = server.address;
    }

    const { channelKeys, channels } = await prepareServing(processes, db);
    keep(await startSimulator(config, log, channelKeys));
    await startWorkerWithSchedules(processes, { db, channels, temporalAddress, log });
    keep(await startApi(config, { db, channels, temporalAddress, opsKey: opsApiKey, log }));
    announce('all', processes, { temporalAddress, db });
  });
}
