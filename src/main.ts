// Command line entry: names the command and hands it over, one module each in src/commands.
// `all` (the whole system in one process, for `npm start`), `cluster` (one process per part on the
// real Temporal server, for `npm run cluster`), or one part: `api`, `worker`,
// `simulator` (the channel simulator; `sandbox`, its older name, still works), `migrate` (for docker-compose and real deployments), and
// `merchant create --name <name>` (a new merchant with its first API key; needs only the database),
// `ops-key create --name <name>` / `ops-key revoke --id <opk_…>` (named ops keys; the database only),
// and `reconcile --channel <channel> --day <yyyy-MM-dd>` (runs a day's reconciliation on the worker).
import { allCommand } from './commands/all';
import { apiCommand } from './commands/api';
import { clusterCommand } from './commands/cluster';
import { merchantCommand } from './commands/merchant';
import { migrateCommand } from './commands/migrate';
import { opsKeyCommand } from './commands/opsKey';
import type { Command } from './commands/processes';
import { reconcileCommand } from './commands/reconcile';
import { simulatorCommand } from './commands/simulator';
import { workerCommand } from './commands/worker';
import { ConfigError, loadConfig } from './config';
import { createLogger } from './log';

const commands: Record<string, Command> = {
  all: allCommand,
  cluster: clusterCommand,
  api: apiCommand,
  worker: workerCommand,
  simulator: simulatorCommand,
  sandbox: simulatorCommand,
  migrate: migrateCommand,
  merchant: merchantCommand,
  'ops-key': opsKeyCommand,
  reconcile: reconcileCommand,
};

async function main() {
  const name = process.argv[2] ?? 'all';
  const command = Object.hasOwn(commands, name) ? commands[name] : undefined;
  if (!command) {
    throw new ConfigError(
      `unknown command "${name}"; use one of: ${Object.keys(commands).join(', ')}`,
    );
  }
  const config = loadConfig();
  await command(config, createLogger(config.LOG_LEVEL), process.argv.slice(3));
}

main().catch((err) => {
  console.error(err instanceof ConfigError ? err.message : err);
  process.exit(1);
});
