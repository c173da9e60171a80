// `reconcile --channel <channel> --day <yyyy-MM-dd> [--json]`: runs a day's reconciliation on the
// running worker and prints its report.
import type { Logger } from 'pino';
import { ConfigError, type Config } from '../config';
import { channelCredentials } from '../channels/credentials';
import { formatReport } from '../domain/reconciliation';
import { channelDaySchema } from '../domain/schemas';
import { demoChannelKeys } from '../keyStore';
import { runReconciliation } from '../services/reconciliations';
import { connectClient, createChannels } from '../system';
import { asUsageError, parseCommandArgs } from './arguments';
import { temporalAddressOf } from './serving';

export async function reconcileCommand(config: Config, log: Logger, args: string[]): Promise<void> {
  const usage = 'usage: reconcile --channel <channel> --day <yyyy-MM-dd> [--json]';
  const { values } = parseCommandArgs('reconcile', {
    args,
    options: {
      channel: { type: 'string' },
      day: { type: 'string' },
      json: { type: 'boolean', default: false },
    },
    strict: true,
  });
  const request = channelDaySchema.safeParse({ channel: values.channel, day: values.day });
  if (!request.success) {
    const problems = request.error.issues.map((i) => `--${i.path.join('.')} ${i.message}`);
    throw new ConfigError(`${problems.join('; ')}; ${usage}`);
  }
  const { client, connection } = await connectClient(config, temporalAddressOf(config), { log });
  try {
    const deps = {
      temporal: client,
      taskQueue: config.TEMPORAL_TASK_QUEUE,
      channels: createChannels(config, channelCredentials(config, demoChannelKeys(config))),
      timeZone: config.RECONCILE_TIME_ZONE,
    };
    const report = await runReconciliation(deps, request.data);
    console.log(values.json ? JSON.stringify(report, null, 2) : formatReport(report));
  } catch (err) {
    throw asUsageError(err);
  } finally {
    await connection.close();
  }
}
