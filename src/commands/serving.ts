// What the serving commands (`all`, `api`, `worker`) share: Temporal's address, the channels and
// the demo merchant they serve with, the worker with its schedules, and the lines that say it is up.
import { Connection } from '@temporalio/client';
import type { Config } from '../config';
import { channelCredentials } from '../channels/credentials';
import type { ChannelKeys } from '../channels/keys';
import type { ChannelRegistry } from '../channels/registry';
import type { Database } from '../db/client';
import { ensureSearchAttributes } from '../dev/temporal';
import { demoChannelKeys } from '../keyStore';
import { ensureSchedules } from '../schedules';
import { connectTemporal, describeTemporalSecurity } from '../temporalConnection';
import { demoMerchantId, ensureMerchant } from '../services/merchants';
import { connectClient, createChannels, notifySecretBox, startWorker } from '../system';
import { workflowBundleOrigin } from '../workflowBundle';
import type { Processes } from './processes';

/** The configured Temporal cluster, else the dev server `npm start` runs on this machine. */
export function temporalAddressOf(config: Config): string {
  return config.TEMPORAL_ADDRESS ?? `127.0.0.1:${config.TEMPORAL_PORT}`;
}

/**
 * Before serving: a configured cluster gets the search attributes paycenter lists by, the channels
 * are made from their credentials, and test mode's demo merchant exists with its key.
 */
export async function prepareServing(
  { config, demoApiKey }: Processes,
  db: Database,
): Promise<{ channelKeys?: ChannelKeys; channels: ChannelRegistry }> {
  if (config.TEMPORAL_ADDRESS) {
    // A connection of the client library's own, not the native one: closing the process's only
    // native connection shuts the SDK's Runtime down, and the worker would start it again (binding
    // its metrics exporter's port a second time).
    const connection = await connectTemporal(
      (options) => Connection.connect(options),
      config.TEMPORAL_ADDRESS,
      config.temporalSecurity,
    );
    await ensureSearchAttributes(connection, config.TEMPORAL_NAMESPACE);
    await connection.close();
  }
  const channelKeys = demoChannelKeys(config);
  const channels = createChannels(config, channelCredentials(config, channelKeys));
  if (demoApiKey) {
    await ensureMerchant(
      db.db,
      { id: demoMerchantId, name: 'Demo merchant' },
      demoApiKey,
      notifySecretBox(config),
    );
  }
  return { channelKeys, channels };
}

/** The worker, then the Temporal Schedules it runs (daily reconciliation, safety-net scans). */
export async function startWorkerWithSchedules(
  { config, keep }: Processes,
  deps: Parameters<typeof startWorker>[1],
): Promise<void> {
  keep(await startWorker(config, deps));
  const { client, connection } = await connectClient(config, deps.temporalAddress, {
    log: deps.log,
  });
  await ensureSchedules(client, config, [...deps.channels.keys()]);
  await connection.close();
}

/** Prints where each part answers, and the keys a demo is used with. */
export function announce(
  command: 'all' | 'api' | 'worker',
  { config, demoApiKey, opsApiKey }: Processes,
  at: { temporalAddress: string; db: Database },
): void {
  const lines = [
    `paycenter (${command}, ${config.PAYCENTER_MODE} mode) is up`,
    command === 'worker' ? undefined : `  API             ${config.publicApiUrl}   (GET /readyz)`,
    command === 'worker' ? undefined : `  Ops console     ${config.publicApiUrl}/ops/console`,
    command === 'api' || config.WORKER_HEALTH_PORT === undefined
      ? undefined
      : `  Worker probes   http://${config.WORKER_HEALTH_HOST}:${config.WORKER_HEALTH_PORT}/readyz`,
    command === 'all' ? `  Simulator       ${config.simulatorUrl}` : undefined,
    `  Temporal        ${at.temporalAddress}   (${describeTemporalSecurity(config.temporalSecurity)})`,
    config.TEMPORAL_ADDRESS
      ? undefined
      : `  Temporal UI     http://localhost:${config.TEMPORAL_UI_PORT}`,
    `  Database        ${at.db.location}`,
    command === 'api' ? undefined : `  Workflow code   ${workflowBundleOrigin()}`,
    demoApiKey && `  Demo merchant API key: ${demoApiKey}`,
    opsApiKey && `  Ops API key:           ${opsApiKey}`,
  ];
  console.log(lines.filter(Boolean).join('\n'));
}
