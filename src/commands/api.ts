// `api`: the HTTP API alone (merchant API, webhooks, cashier, ops), against a database and a
// Temporal that run elsewhere.
import type { Logger } from 'pino';
import type { Config } from '../config';
import { startApi } from '../system';
import { runProcesses } from './processes';
import { announce, prepareServing, temporalAddressOf } from './serving';

export async function apiCommand(configured: Config, log: Logger): Promise<void> {
  await runProcesses(configured, log, async (processes) => {
    const { config, opsApiKey, keep } = processes;
    const db = await processes.openDatabase(false);
    const temporalAddress = temporalAddressOf(config);
    const { channels } = await prepareServing(processes, db);
    keep(await startApi(config, { db, channels, temporalAddress, opsKey: opsApiKey, log }));
    announce('api', processes, { temporalAddress, db });
  });
}
