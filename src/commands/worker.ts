// `worker`: the Temporal worker alone (payment workflows and their activities) and the Schedules
// it runs, against a database and a Temporal that run elsewhere.
import type { Logger } from 'pino';
import type { Config } from '../config';
import { runProcesses } from './processes';
import { announce, prepareServing, startWorkerWithSchedules, temporalAddressOf } from './serving';

export async function workerCommand(configured: Config, log: Logger): Promise<void> {
  await runProcesses(configured, log, async (processes) => {
    const db = await processes.openDatabase(false);
    const temporalAddress = temporalAddressOf(processes.config);
    const { channels } = await prepareServing(processes, db);
    await startWorkerWithSchedules(processes, { db, channels, temporalAddress, log });
    announce('worker', processes, { temporalAddress, db });
  });
}
